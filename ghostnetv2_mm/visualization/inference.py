"""Inference on a user's own images and videos through the toolbox's own
inferencer (mmdet's ``DetInferencer``, mmseg's ``MMSegInferencer``): their
model loading, test pipeline, forward and visualizer, with the project's
checkpoint reader, deploy mode, and outputs named after the inputs."""
import json
import os
import os.path as osp
import time

import numpy as np

from ..checkpoint import use_safe_checkpoint_loader
from ..datasets import decode_image
from ..engine.config import config_scope, load_config
from .legend import add_legend, class_shares
from .media import open_video

DEFAULT_SCORE_THR = 0.3


def resolve_device(device):
    """``cpu`` / ``cuda`` / ``cuda:N``; None picks CUDA when there is one."""
    import torch
    if device is None:
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {device}: PyTorch sees no CUDA device here '
                           f'(torch.cuda.is_available() is False); use --device cpu')
    if device != 'cpu' and not device.startswith('cuda'):
        raise ValueError(f'--device must be cpu, cuda or cuda:N, got {device!r}')
    return device


class Predictor:
    """A config and checkpoint loaded by the config's toolbox inferencer.

    ``predict(rgb)`` runs the config's test pipeline and the model on one RGB
    image (the pipelines expect what ``LoadImageFromFile`` gives: BGR) and
    returns the toolbox's data sample; ``draw`` renders it with the
    inferencer's visualizer (boxes and labels, or colour-blended masks with a
    legend); ``to_json`` gives the raw prediction as JSON-able data.
    """

    def __init__(self, config, checkpoint, device=None, deploy=False, cfg_options=None):
        if checkpoint is not None and '://' not in checkpoint \
                and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
        use_safe_checkpoint_loader()
        cfg = load_config(config, cfg_options)
        self.scope = config_scope(cfg)
        self.device = device = resolve_device(device)
        if self.scope == 'mmdet':
            from mmdet.apis import DetInferencer
            self.inferencer = DetInferencer(cfg, checkpoint, device=device,
                                            show_progress=False)
        else:
            from mmseg.apis import MMSegInferencer
            self.inferencer = MMSegInferencer(cfg, checkpoint, device=device)
            self.inferencer.show_progress = False
        self.model = self.inferencer.model
        if deploy:
            from ..deploy import switch_to_deploy
            switch_to_deploy(self.model)
        meta = self.model.dataset_meta
        self.classes = list(meta['classes'])
        self.visualizer = self.inferencer.visualizer
        if self.scope == 'mmseg':
            self.visualizer.set_dataset_meta(self.classes, meta.get('palette'))
        self.palette = self.visualizer.dataset_meta.get('palette')

    def predict(self, rgb):
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        result = self.inferencer(bgr, return_datasamples=True)
        return result['predictions'][0] if isinstance(result, dict) else result

    def draw(self, rgb, pred, score_thr=DEFAULT_SCORE_THR, opacity=0.5, max_size=None):
        """The picture (RGB): mmdet draws boxes scoring above ``score_thr``;
        mmseg blends the class colours at ``opacity`` and a legend is added.
        With ``max_size``, drawn on a copy whose longer side is at most that."""
        rgb, pred = self.shrink(rgb, pred, max_size)
        if self.scope == 'mmdet':
            self.visualizer.add_datasample('image', rgb, clip_boxes(pred, rgb.shape),
                                           draw_gt=False, pred_score_thr=score_thr)
            return self.visualizer.get_image()
        self.visualizer.alpha = opacity
        self.visualizer.add_datasample('image', rgb, pred, draw_gt=False,
                                       with_labels=False)
        return add_legend(self.visualizer.get_image(), self.label_map(pred),
                          self.classes, self.palette)

    def shrink(self, rgb, pred, max_size):
        """``rgb`` and ``pred`` resized together so that the longer side is at
        most ``max_size`` (boxes scaled, label maps resized by nearest)."""
        import cv2
        import torch
        height, width = rgb.shape[:2]
        if not max_size or max(height, width) <= max_size:
            return rgb, pred
        scale = max_size / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        pred = pred.clone()
        if self.scope == 'mmdet':
            pred.pred_instances = instances = pred.pred_instances.clone()
            factor = instances.bboxes.new_tensor([size[0] / width, size[1] / height] * 2)
            instances.bboxes = instances.bboxes * factor
        else:
            from mmengine.structures import PixelData
            labels = cv2.resize(self.label_map(pred).astype(np.int32), size,
                                interpolation=cv2.INTER_NEAREST)
            pred.pred_sem_seg = PixelData(data=torch.from_numpy(labels)[None])
        return small, pred

    @staticmethod
    def label_map(pred):
        return pred.pred_sem_seg.data[0].cpu().numpy()

    def to_json(self, pred):
        """Detection: every box the model returned (labels, class names,
        scores, ``[x1, y1, x2, y2]`` in input pixels), as mmdet's
        ``DetInferencer.pred2dict`` lists them. Segmentation: the pixel count
        of each predicted class (the label map itself is saved as a PNG)."""
        if self.scope == 'mmdet':
            result = self.inferencer.pred2dict(pred)
            result['classes'] = [self.classes[i] for i in result['labels']]
            return result
        shares = class_shares(self.label_map(pred), len(self.classes))
        return dict(classes=[dict(id=c, name=self.classes[c], pixels=n) for c, n in shares])

    def num_drawn(self, pred, score_thr):
        """Boxes drawn (score above ``score_thr``), or classes drawn."""
        if self.scope == 'mmdet':
            return int((pred.pred_instances.scores > score_thr).sum())
        return len(class_shares(self.label_map(pred), len(self.classes)))


def clip_boxes(pred, shape):
    """A copy of ``pred`` with its boxes clipped to the image: mmengine's
    visualizer widens its view to a box reaching outside the picture, which
    shifts and rescales the whole drawing."""
    pred = pred.clone()
    pred.pred_instances = instances = pred.pred_instances.clone()
    bboxes = instances.bboxes.clone()
    bboxes[:, 0::2] = bboxes[:, 0::2].clamp(0, shape[1])
    bboxes[:, 1::2] = bboxes[:, 1::2].clamp(0, shape[0])
    instances.bboxes = bboxes
    return pred


def write_image(path, rgb):
    import mmcv
    if not mmcv.imwrite(np.ascontiguousarray(rgb[..., ::-1]), path):
        raise OSError(f'could not write {path}')


def write_label_map(path, label_map):
    """A PNG of class indices (8-bit up to 256 classes, else 16-bit)."""
    import cv2
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    dtype = np.uint8 if label_map.max(initial=0) < 256 else np.uint16
    if not cv2.imwrite(path, label_map.astype(dtype)):
        raise OSError(f'could not write {path}')


def write_json(path, data):
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)


def run_inference(predictor, sources, out_dir, score_thr=DEFAULT_SCORE_THR, opacity=0.5,
                  progress=None, max_size=None):
    """Predict, draw and save every source. Images give ``vis/NAME.png`` and
    ``preds/NAME.json`` (segmentation also ``preds/NAME.png``, the label
    map); videos give ``vis/NAME.mp4`` and one ``preds/NAME.json`` listing
    the frames. Pictures are drawn at most ``max_size`` pixels on their
    longer side when given (predictions stay in input pixels). Returns the
    counts for the summary line."""
    stats = dict(images=0, frames=0, drawn=0, seconds=0.0)
    start = time.perf_counter()
    for source in sources:
        if source.kind == 'image':
            rgb = decode_image(source.path, channel_order='rgb')
            record, picture = _predict_one(predictor, rgb, out_dir, source.name,
                                           (score_thr, opacity, max_size), stats)
            write_image(osp.join(out_dir, 'vis', source.name + '.png'), picture)
            write_json(osp.join(out_dir, 'preds', source.name + '.json'),
                       dict(image=source.path, **record))
            stats['images'] += 1
            if progress:
                progress.update()
        else:
            _run_video(predictor, source, out_dir, (score_thr, opacity, max_size), stats,
                       progress)
    stats['seconds'] = time.perf_counter() - start
    return stats


def _predict_one(predictor, rgb, out_dir, name, drawing, stats):
    """The JSON record and the picture of one image or frame; ``drawing`` is
    (score_thr, opacity, max_size)."""
    pred = predictor.predict(rgb)
    drawn = predictor.draw(rgb, pred, *drawing)
    stats['drawn'] += predictor.num_drawn(pred, drawing[0])
    record = dict(height=int(rgb.shape[0]), width=int(rgb.shape[1]),
                  **predictor.to_json(pred))
    if predictor.scope == 'mmseg':
        write_label_map(osp.join(out_dir, 'preds', name + '.png'),
                        predictor.label_map(pred))
        record['label_map'] = name + '.png'  # under preds/
    return record, drawn


def _run_video(predictor, source, out_dir, drawing, stats, progress):
    import cv2
    import mmcv
    video = open_video(source.path)
    fps = video.fps or 25.0  # containers that do not state it
    out_file = osp.join(out_dir, 'vis', source.name + '.mp4')
    os.makedirs(osp.dirname(out_file), exist_ok=True)
    writer, records = None, []
    try:
        for index, bgr in enumerate(video):
            rgb = mmcv.bgr2rgb(bgr)
            frame_name = osp.join(source.name, f'{index:06d}')
            record, picture = _predict_one(predictor, rgb, out_dir, frame_name, drawing,
                                           stats)
            if writer is None:
                size = picture.shape[:2]
                writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'),
                                         fps, size[::-1])
                if not writer.isOpened():
                    raise OSError(f'OpenCV cannot write {out_file} (no mp4v encoder)')
            # a video has one frame size: a segmentation legend taller than the
            # first frame's is cut (the JSON lists every class)
            writer.write(cv2.cvtColor(_fit(picture, size), cv2.COLOR_RGB2BGR))
            records.append(dict(frame=index, **record))
            stats['frames'] += 1
            if progress:
                progress.update()
    finally:
        if writer is not None:
            writer.release()
    if not records:
        raise ValueError(f'{source.path}: OpenCV read no frame from this video')
    write_json(osp.join(out_dir, 'preds', source.name + '.json'),
               dict(video=source.path, fps=fps, picture=osp.relpath(out_file, out_dir),
                    frames=records))


def _fit(picture, writer_size):
    height, width = writer_size
    picture = picture[:height]
    if picture.shape[0] < height:
        pad = np.full((height - picture.shape[0], width, 3), 255, np.uint8)
        picture = np.concatenate([picture, pad])
    return picture
