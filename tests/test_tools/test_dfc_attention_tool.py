"""tools/analysis/dfc_attention.py on a real coco128 image: the saved maps are the
gates the forward pass computed (checked against DFCAttention.gate on the inputs
the attention modules received), not blank or constant, and the PNG has the
stated layout with each map where it says."""
import json

import cv2
import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer
from PIL import Image

from ghostnetv2_mm import GhostNetV2
from ghostnetv2_mm.checkpoint import load_pretrained
from ghostnetv2_mm.visualization.dfc_gates import find_dfc_attentions
from helpers import CONFIGS, load_tool

GATES = ['blocks.2.0', 'blocks.3.0', 'blocks.4.0', 'blocks.5.0'] + \
    [f'blocks.6.{i}' for i in range(5)] + ['blocks.7.0'] + [f'blocks.8.{i}' for i in range(4)]
STRIDES = {name: {'2': 4, '3': 4, '4': 8, '5': 8, '6': 16, '7': 16, '8': 32}[name[7]]
           for name in GATES}
IMAGENET_MEAN, IMAGENET_STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis/dfc_attention.py')


def gates_of_forward(model, run):
    """Each DFC attention's ``gate`` of the input it received while ``run()``
    ran the model, computed by the module's own method."""
    gates, handles = {}, []

    def hook(name):
        def record(module, args):
            gates[name] = module.gate(args[0])[0].numpy()
        return record

    for name, module in find_dfc_attentions(model).items():
        handles.append(module.register_forward_pre_hook(hook(name)))
    with torch.no_grad():
        run()
    for handle in handles:
        handle.remove()
    return gates


def check_picture(png, npz, meta, rows):
    """The stated size; per row, where the layout says: the network input and,
    coloured by mmengine's draw_featmap, the channel mean and the strongest
    channels of the saved gate."""
    grid = np.array(Image.open(png).convert('RGB'))
    cell_h, cell_w = meta['cell_size']
    gap, title = meta['gap'], meta['title_height']
    columns = meta['columns']
    assert grid.shape == (len(rows) * (title + cell_h + gap) + gap,
                          len(columns) * (cell_w + gap) + gap, 3) == (*meta['size'], 3)
    base = cv2.resize(npz['image'], (cell_w, cell_h), interpolation=cv2.INTER_AREA)
    for row, name in enumerate(rows):
        gate = torch.from_numpy(npz[name])
        top = torch.argsort(gate.mean((1, 2)), descending=True)[:len(columns) - 2].tolist()
        assert meta['channels'][name] == top
        rows_idx = torch.arange(cell_h) * gate.shape[1] // cell_h
        cols_idx = torch.arange(cell_w) * gate.shape[2] // cell_w
        maps = [gate.mean(0)] + [gate[c] for c in top]
        y = gap + row * (title + cell_h + gap) + title
        cells = [grid[y:y + cell_h, gap + c * (cell_w + gap):][:, :cell_w]
                 for c in range(len(columns))]
        assert (cells[0] == base).all()
        for cell, gate_map in zip(cells[1:], maps):
            resized = gate_map[rows_idx][:, cols_idx][None]
            expected = Visualizer.draw_featmap(resized, base, channel_reduction='squeeze_mean')
            assert np.abs(cell.astype(int) - expected).max() <= 1, name
            assert cell.std() > 10 and not (cell == base).all()


def test_backbone_gates_of_a_real_image(tool, tmp_path, coco128_dir, official_checkpoint):
    image = coco128_dir / 'train2017' / '000000000009.jpg'  # 640 x 480
    result = tool.main([str(image), '--backbone', '--weights', str(official_checkpoint),
                        '--out-dir', str(tmp_path), '--scale', '256', '--cell-height', '48'])
    assert result['png'] == str(tmp_path / '000000000009_dfc.png')
    npz = np.load(tmp_path / '000000000009_dfc.npz')
    meta = json.loads(str(npz['meta']))
    assert meta['rows'] == GATES and meta['strides'] == STRIDES
    assert meta['columns'] == ['input', 'mean', 'top1', 'top2', 'top3']
    # the network input: the photo with its longer side at --scale
    assert npz['image'].shape == (192, 256, 3)
    rgb = np.array(Image.open(image).convert('RGB'))
    assert np.abs(cv2.resize(rgb, (256, 192), interpolation=cv2.INTER_AREA).astype(int)
                  - npz['image']).mean() < 3
    # the saved gates are those of a forward pass of that input
    model = GhostNetV2().eval()
    load_pretrained(model, str(official_checkpoint))
    x = (torch.from_numpy(npz['image']).float() - torch.tensor(IMAGENET_MEAN)) \
        / torch.tensor(IMAGENET_STD)
    expected = gates_of_forward(model, lambda: model(x.permute(2, 0, 1)[None]))
    for name in GATES:
        np.testing.assert_allclose(npz[name], expected[name], rtol=0, atol=1e-6)
        assert npz[name].shape[1:] == tuple((np.array(meta['map_sizes'][name]) // 2))
        assert npz[name].std() > 1e-3  # not a constant map
    check_picture(result['png'], npz, meta, GATES)


def test_chosen_blocks_and_random_weights_warning(tool, tmp_path, coco128_dir):
    image = coco128_dir / 'val2017' / sorted(p.name for p in
                                             (coco128_dir / 'val2017').glob('*.jpg'))[0]
    with pytest.warns(UserWarning, match='random weights'):
        result = tool.main([str(image), '--backbone', 'widen_factor=1.3', '--out-dir',
                            str(tmp_path), '--blocks', 'blocks.8.3', 'blocks.4.0',
                            '--topk', '1', '--scale', '128', '--cell-height', '32'])
    npz = np.load(result['npz'])
    meta = json.loads(str(npz['meta']))
    assert meta['rows'] == ['blocks.4.0', 'blocks.8.3']
    assert npz['blocks.4.0'].shape[0] == 156  # 1.3x width
    check_picture(result['png'], npz, meta, meta['rows'])
    with pytest.raises(ValueError, match=r"no DFC attention named \['blocks.0.0'\]"):
        tool.main([str(image), '--backbone', '--out-dir', str(tmp_path),
                   '--blocks', 'blocks.0.0'])
    with pytest.raises(SystemExit):
        tool.parse_args([str(image), '--backbone', '--checkpoint', 'x.pth',
                         '--out-dir', str(tmp_path)])


@pytest.mark.slow
def test_detector_gates_in_its_test_pipeline(tool, tmp_path, yolov3_8img_run, coco128_dir):
    """A trained YOLOv3-GhostNetV2: the gates of the detector's own forward pass,
    checked against mmdet's inference_detector on the same file."""
    from mmdet.apis import inference_detector

    from ghostnetv2_mm.apis import init_model
    config = CONFIGS / 'coco128' / 'yolov3_ghostnetv2-1.0x_1xb4-200iter_coco128-8img.py'
    checkpoint = str(yolov3_8img_run / 'iter_200.pth')
    image = coco128_dir / 'train2017' / '000000000025.jpg'  # 640 x 426
    options = ['--cfg-options', f'data_root={coco128_dir}']
    result = tool.main([str(image), '--config', str(config), '--checkpoint', checkpoint,
                        '--out-dir', str(tmp_path), '--device', 'cpu'] + options)
    npz = np.load(result['npz'])
    meta = json.loads(str(npz['meta']))
    # 256-pixel test resize, padded to a multiple of 32 by the data preprocessor
    assert npz['image'].shape == (192, 256, 3) and meta['strides'] == STRIDES
    assert (npz['image'][171:] == 0).all() and npz['image'][:170].mean() > 20
    model = init_model(str(config), checkpoint)
    expected = gates_of_forward(model, lambda: inference_detector(model, str(image)))
    for name in GATES:
        np.testing.assert_allclose(npz[name], expected[name], rtol=0, atol=1e-5)
        assert npz[name].std() > 1e-3
    check_picture(result['png'], npz, meta, GATES)
