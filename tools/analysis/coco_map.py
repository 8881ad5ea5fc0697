#!/usr/bin/env python
"""COCO box mAP of saved detection results, without building a model.

    python tools/analysis/coco_map.py RESULTS [ANN_FILE] [--proposal-nums 100 300 1000]

RESULTS is the ``--out`` pickle of tools/test.py or a COCO results json (a list
of ``{image_id, category_id, bbox [x, y, w, h], score}``, e.g. the
``*.bbox.json`` CocoMetric writes with ``outfile_prefix``). ANN_FILE may be left
out for a pickle whose samples carry their ground truth. Scored by mmdet's
CocoMetric with tools/test.py's settings, so both print the same numbers.
Printed: the 12 COCO summary numbers and the AP of every category. mmdet's
default ``--proposal-nums 100 300 1000`` gives AR@100/300/1000 as tools/test.py;
``--proposal-nums 1 10 100`` the official COCO AR@1/10/100.
"""
import argparse
import contextlib
import io

from mmengine.logging import MMLogger

from ghostnetv2_mm.evaluation.coco_results import format_tables, score_detections


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='COCO box mAP of saved detection results (no model needed)')
    parser.add_argument('results', help='tools/test.py --out .pkl, or a COCO results .json')
    parser.add_argument('ann_file', nargs='?',
                        help='COCO annotation json (optional for a .pkl that carries '
                             'ground truth)')
    parser.add_argument('--proposal-nums', type=int, nargs=3, default=[100, 300, 1000],
                        metavar='N', help="max detections per image for the three recall "
                                          "numbers (default: mmdet's 100 300 1000)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    MMLogger.get_instance('coco_map', log_level='WARNING')  # the metric's own chatter
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' progress chatter
        metrics = score_detections(args.results, args.ann_file, args.proposal_nums)
    print(format_tables(metrics, args.proposal_nums))
    return metrics


if __name__ == '__main__':
    main()
