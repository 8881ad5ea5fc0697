"""demo/image_demo.py on real images with the trained small-data checkpoints of
the session (conftest's yolov3_8img_run and seg_16img_run): the same boxes and
masks as tools/test.py for the same checkpoint and images, pictures showing
exactly those, videos frame by frame, the deploy-mode model, and input
problems reported before any model is loaded."""
import json
import pickle

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from ghostnetv2_mm.checkpoint import load_training_checkpoint
from ghostnetv2_mm.visualization.inference import Predictor, resolve_device
from ghostnetv2_mm.visualization.legend import class_shares, legend_height
from helpers import CONFIGS, load_tool
from mmdet.datasets import CocoDataset

DET = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'
COCO_CLASSES = CocoDataset.METAINFO['classes']
SEG = CONFIGS / 'coco128_seg' / 'fpn_ghostnetv2-1.0x_1xb4-2k_coco128seg-256x256.py'


@pytest.fixture(scope='module')
def demo():
    return load_tool('demo/image_demo.py')


def rgb(path):
    """A picture as RGB; JPEGs decoded by OpenCV, as the configs' loaders decode
    them (PIL's decoder differs by a few levels)."""
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


# ---- input problems: named before a model is loaded (unit tier) ---------------------

def test_input_problems_are_named_before_loading(demo, tmp_path):
    missing = str(tmp_path / 'holiday')
    with pytest.raises(FileNotFoundError, match=f'{missing}: no such file or folder'):
        demo.main([missing, str(DET), 'no.pth'])
    (tmp_path / 'a.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='--score-thr applies to detection'):
        demo.main([str(tmp_path / 'a.jpg'), str(SEG), 'no.pth', '--score-thr', '0.5'])
    with pytest.raises(FileNotFoundError, match='checkpoint no.pth does not exist'):
        demo.main([str(tmp_path / 'a.jpg'), str(DET), 'no.pth', '--device', 'cpu'])
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='PyTorch sees no CUDA device'):
            resolve_device('cuda')
    with pytest.raises(ValueError, match='cpu, cuda or cuda:N'):
        resolve_device('gpu')


# ---- detection -----------------------------------------------------------------------

@pytest.fixture(scope='module')
def module_one_thread():
    """conftest's one_thread for the module's shared runs: one intra-op thread,
    and torch's global determinism flag (set by the 8-image config) put back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)


@pytest.fixture(scope='module')
def detection(demo, yolov3_8img_run, coco128_dir, tmp_path_factory, module_one_thread):
    """tools/test.py --out and the demo on the config's 8 test images, same
    checkpoint, one image per batch (batches pad every image to the largest)."""
    root = tmp_path_factory.mktemp('demo_det')
    checkpoint = str(yolov3_8img_run / 'iter_200.pth')
    load_tool('tools/test.py').main([
        str(DET), checkpoint, '--work-dir', str(root / 'test'), '--out',
        str(root / 'results.pkl'), '--cfg-options', f'data_root={coco128_dir}',
        'test_dataloader.batch_size=1'])
    with open(root / 'results.pkl', 'rb') as f:
        results = {r['img_path']: r for r in pickle.load(f)}
    images = sorted(results)
    stats = demo.main(images + [str(DET), checkpoint, '--out-dir', str(root / 'out'),
                                '--device', 'cpu'])
    return dict(root=root, checkpoint=checkpoint, results=results, images=images,
                stats=stats)


@pytest.mark.slow
def test_detection_gives_test_py_boxes(detection):
    out = detection['root'] / 'out'
    assert detection['stats']['images'] == 8
    for path in detection['images']:
        name = path.rsplit('/', 1)[1][:-len('.jpg')]
        saved = json.loads((out / 'preds' / f'{name}.json').read_text())
        expected = detection['results'][path]['pred_instances']
        assert saved['image'] == path and len(saved['scores']) == len(expected['scores']) > 0
        assert saved['labels'] == expected['labels'].tolist()
        np.testing.assert_allclose(saved['scores'], expected['scores'].numpy(), atol=1e-6)
        np.testing.assert_allclose(saved['bboxes'], expected['bboxes'].numpy(), atol=1e-3)
        assert saved['classes'] == [COCO_CLASSES[i] for i in saved['labels']]


@pytest.mark.slow
def test_detection_pictures_show_the_boxes_above_the_threshold(detection):
    out = detection['root'] / 'out'
    shown = 0
    for path in detection['images']:
        name = path.rsplit('/', 1)[1][:-len('.jpg')]
        image, picture = rgb(path), rgb(out / 'vis' / f'{name}.png')
        assert picture.shape == image.shape
        saved = json.loads((out / 'preds' / f'{name}.json').read_text())
        changed = np.abs(picture.astype(int) - image).sum(-1) > 0
        height, width = changed.shape
        drawn = np.zeros_like(changed)
        for box, score in zip(saved['bboxes'], saved['scores']):
            if score <= 0.3:
                continue
            shown += 1
            x1, y1, x2, y2 = np.round(box).astype(int)
            x1, x2 = np.clip([x1, x2], 0, width - 1)
            y1, y2 = np.clip([y1, y2], 0, height - 1)
            for y in (y1, y2):
                drawn[max(0, y - 5):y + 6, max(0, x1 - 5):x2 + 6] = True
            for x in (x1, x2):
                drawn[max(0, y1 - 5):y2 + 6, max(0, x - 5):x + 6] = True
            drawn[max(0, y1 - 5):y1 + 40, max(0, x1 - 5):x1 + 200] = True  # label, score
            assert changed[max(0, y1 - 3):y1 + 4, (x1 + x2) // 2].any()
            assert changed[(y1 + y2) // 2, max(0, x1 - 3):x1 + 4].any()
        # boxes at or below the threshold, and everything else, are not drawn
        assert not (changed & ~drawn).any(), name
    assert shown == detection['stats']['drawn'] > 8


@pytest.mark.slow
def test_video_frames_are_predicted_as_images(demo, detection, tmp_path, one_thread):
    clip = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*'MJPG'), 4, (640, 480))
    for path in detection['images'][:3]:
        writer.write(cv2.resize(cv2.imread(path), (640, 480)))
    writer.release()
    stats = demo.main([str(clip), str(DET), detection['checkpoint'], '--out-dir',
                       str(tmp_path / 'out'), '--score-thr', '0.5'])
    assert stats['frames'] == 3 and stats['images'] == 0
    saved = json.loads((tmp_path / 'out' / 'preds' / 'clip.json').read_text())
    assert [f['frame'] for f in saved['frames']] == [0, 1, 2] and saved['fps'] == 4
    drawn = cv2.VideoCapture(str(tmp_path / 'out' / 'vis' / 'clip.mp4'))
    assert drawn.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    assert (drawn.get(cv2.CAP_PROP_FRAME_WIDTH), drawn.get(cv2.CAP_PROP_FRAME_HEIGHT)) \
        == (640, 480)
    # each frame's predictions are those of the decoded frame as an image
    predictor = Predictor(str(DET), detection['checkpoint'], 'cpu')
    source = cv2.VideoCapture(str(clip))
    for record in saved['frames']:
        ok, frame = source.read()
        assert ok
        expected = predictor.to_json(predictor.predict(frame[..., ::-1]))
        assert record['labels'] == expected['labels']
        np.testing.assert_allclose(np.reshape(record['bboxes'], (-1, 4)),
                                   np.reshape(expected['bboxes'], (-1, 4)), atol=1e-3)
    assert saved['frames'][0]['labels']  # the first frame is a 640x480 training image


@pytest.mark.slow
def test_deploy_mode_keeps_the_boxes(demo, detection, tmp_path, one_thread):
    """--deploy (and pictures drawn at most 320 pixels wide or high)."""
    images = detection['images'][:3]
    demo.main(images + [str(DET), detection['checkpoint'], '--out-dir', str(tmp_path),
                        '--deploy', '--device', 'cpu', '--max-size', '320'])
    for path in images:
        name = path.rsplit('/', 1)[1][:-len('.jpg')]
        height, width = rgb(path).shape[:2]
        small = rgb(tmp_path / 'vis' / f'{name}.png')
        assert max(small.shape[:2]) == 320
        assert abs(small.shape[0] / small.shape[1] - height / width) < 0.01
        folded = json.loads((tmp_path / 'preds' / f'{name}.json').read_text())
        plain = json.loads((detection['root'] / 'out' / 'preds' / f'{name}.json').read_text())
        keep = [i for i, s in enumerate(plain['scores']) if s > 0.3]
        assert folded['labels'][:len(keep)] == [plain['labels'][i] for i in keep]
        np.testing.assert_allclose(folded['scores'][:len(keep)],
                                   [plain['scores'][i] for i in keep], atol=1e-3)
        np.testing.assert_allclose(folded['bboxes'][:len(keep)],
                                   [plain['bboxes'][i] for i in keep], atol=0.5)


# ---- segmentation --------------------------------------------------------------------

@pytest.mark.slow
def test_segmentation_gives_test_py_masks(demo, seg_16img_run, tmp_path, one_thread):
    run = seg_16img_run
    load_tool('tools/test.py').main([  # the first 8 of the run's 16 images
        str(run['config']), run['checkpoint'], '--work-dir', str(tmp_path / 'test'),
        '--out', str(tmp_path / 'test_py'), '--cfg-options', f"data_root={run['data']}",
        'test_dataloader.dataset.indices=8',
        # no worker process: one left to the garbage collector stalls the next step
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'])
    images = sorted((run['data'] / 'images' / 'training').glob('*.jpg'))[:8]
    assert sorted(p.stem for p in (tmp_path / 'test_py').glob('*.png')) == \
        [p.stem for p in images]
    stats = demo.main([str(p) for p in images] + [
        str(run['config']), run['checkpoint'], '--out-dir', str(tmp_path / 'out'),
        '--opacity', '0.6'])
    assert stats['images'] == 8
    meta = load_training_checkpoint(run['checkpoint'])['meta']['dataset_meta']
    palette, classes = np.array(meta['palette']), meta['classes']
    for path in images:
        labels = np.array(Image.open(tmp_path / 'out' / 'preds' / f'{path.stem}.png'))
        # tools/test.py saves the data's label space: class c as c + 1
        test_py = np.array(Image.open(tmp_path / 'test_py' / f'{path.stem}.png'))
        assert labels.shape == test_py.shape and (labels.astype(int) + 1 == test_py).all()
        saved = json.loads((tmp_path / 'out' / 'preds' / f'{path.stem}.json').read_text())
        shares = class_shares(labels, len(classes))
        assert [(c['id'], c['pixels']) for c in saved['classes']] == shares
        assert [c['name'] for c in saved['classes']] == [classes[c] for c, _ in shares]
        # the picture: the class colours blended at --opacity, the legend below
        image, picture = rgb(path), rgb(tmp_path / 'out' / 'vis' / f'{path.stem}.png')
        height, width = labels.shape
        expected = (image * 0.4 + palette[labels] * 0.6).astype(np.uint8)
        assert np.abs(picture[:height].astype(int) - expected).max() <= 1
        assert picture.shape == (height + legend_height(len(shares), width), width, 3)
