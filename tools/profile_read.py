"""Where `read_pages` spends its time: the shipped model's parts, the decoding and the page confidence, on held-out pages.

Reads --pages pages of a held-out set (`tools/heldout.py`) with `read_pages` once to warm up, then --rounds times under
cProfile, and prints the cumulative seconds of each part per round with its share of the whole: the encoder, the slot
attention, the counter, the classifier with the choice of each slot's id, the ids to text, and the page confidence (the reading drawn
again and compared with the page). Run it on an idle machine: the shares hold on a busy one, the seconds do not.

    python tools/profile_read.py --set manpages --pages 192
"""
import argparse, cProfile, inspect, pstats, time
from pathlib import Path

import datasets
import torch

from imagetextslot.inference import load_pretrained, read_pages

def parts() -> dict:
    "Row name -> the function whose cumulative time it is."
    from imagetextslot import inference
    from imagetextslot.model import ImageTextSlotModel
    from imagetextslot.slot_attention import SlotAttention
    from imagetextslot import decoding
    return {'encoder and projection': ImageTextSlotModel.memory, 'slot attention': SlotAttention.forward,
            'counter': ImageTextSlotModel.count, "classifier and each slot's id (head_choices)": decoding.head_choices,
            'ids to text (read_choices)': decoding.read_choices, 'page confidence': inference.page_confidence,
            'read_pages, all of it': inference.read_pages}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    p.add_argument('--model', default='tiny', help="a shipped model (default: tiny)")
    p.add_argument('--heldout', default='data/heldout', help='folder of the held-out sets')
    p.add_argument('--set', default='manpages', help='which held-out set (default: manpages)')
    p.add_argument('--pages', type=int, default=192, help='pages to read (default: 192)')
    p.add_argument('--batch_size', type=int, default=64, help='pages per forward pass (default: 64, as tools/results.py)')
    p.add_argument('--rounds', type=int, default=3, help='profiled rounds (default: 3)')
    a = p.parse_args(argv)
    dsd = datasets.load_from_disk(str(Path(a.heldout) / a.set))
    ds = datasets.concatenate_datasets([dsd[k] for k in dsd]).select(range(a.pages))
    pages = list(ds['pixel_values'])
    model = load_pretrained(a.model, device='cpu')
    read_pages(pages, model, a.batch_size)  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.rounds): read_pages(pages, model, a.batch_size)
    plain = (time.perf_counter() - t0) / a.rounds
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(a.rounds): read_pages(pages, model, a.batch_size)
    prof.disable()
    stats = pstats.Stats(prof).stats
    cum = {}
    for name, fn in parts().items():
        code = inspect.unwrap(fn).__code__
        cum[name] = sum(v[3] for k, v in stats.items() if k == (code.co_filename, code.co_firstlineno, code.co_name)) / a.rounds
    total = cum['read_pages, all of it']
    print(f"{a.model} on {a.pages} pages of {a.set}, batches of {a.batch_size}, torch {torch.__version__} with {torch.get_num_threads()} threads")
    print(f"read_pages without the profiler: {plain:.3f} s a round, {a.pages / plain:.1f} pages/s")
    print(f"{'part':<48}{'s a round':>10}{'share':>8}")
    for name, s in cum.items(): print(f"{name:<48}{s:>10.3f}{s / total:>8.0%}")


if __name__ == '__main__': main()
