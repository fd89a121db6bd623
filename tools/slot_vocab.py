"""What scoring only the ids a slot can hold (`head_choices`, as `read_pages` reads) buys over the full head: time, and how far the confidences move.

In the 'cells' layout the first slot of a cell holds a byte that starts a character of at most `bytes_per_cell` bytes,
the others a continuation byte, and every slot may hold a special token (ids below `BYTE_OFFSET`). `decode_cells` already
takes its readings from these sets alone, but its probabilities come from a softmax over all 512 ids. This probe runs the
shipped model's classifier on the slots of held-out pages both ways, the full head with a softmax over all ids
(`cell_choices`, as `decode_cells` has it) and only the rows of each slot's ids with a softmax over them (`head_choices`,
as `ImageTextSlotModel.recognize` has it), and prints: whether the readings (the most likely ids) agree, how far the
character confidences of the cells within the count move, and the time of each (best of --rounds, taking turns).

    python tools/slot_vocab.py --set manpages --pages 128
"""
import argparse, time
from pathlib import Path

import datasets
import torch

from imagetextslot.decoding import cell_choices, head_choices, read_choices, slot_vocab
from imagetextslot.inference import load_pretrained, pages_tensor
from imagetextslot.model import evaluating


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    p.add_argument('--heldout', default='data/heldout')
    p.add_argument('--set', default='manpages')
    p.add_argument('--pages', type=int, default=128)
    p.add_argument('--rounds', type=int, default=5)
    a = p.parse_args(argv)
    dsd = datasets.load_from_disk(str(Path(a.heldout) / a.set))
    ds = datasets.concatenate_datasets([dsd[k] for k in dsd]).select(range(a.pages))
    m = load_pretrained('tiny', device='cpu')
    G, V = m.cfg.slot_attention.bytes_per_cell, m.cfg.vocab_size
    with evaluating(m):
        mem = m.memory(pages_tensor(list(ds['pixel_values'])))
        x = m.slot_attention(mem)
        n = m.round_counts(m.count(mem, x)[0])
        full, sub = read_choices(cell_choices(m.classifier(x), G), n, G), read_choices(head_choices(m.classifier, x, G), n, G)
        same = all(f['ids'] == s['ids'] for f, s in zip(full, sub))
        d = torch.tensor([abs(a - b) for f, s in zip(full, sub) for a, b in zip(f['confidences'], s['confidences'])])
        times = {'all 512 ids': [], 'own ids only': []}
        for _ in range(a.rounds):
            t0 = time.perf_counter(); cell_choices(m.classifier(x), G); t1 = time.perf_counter()
            head_choices(m.classifier, x, G); t2 = time.perf_counter()
            times['all 512 ids'].append(t1 - t0); times['own ids only'].append(t2 - t1)
    print(f"{a.pages} pages of {a.set}, {len(d)} characters within the counts; ids per cell: "
          f"{sum(len(i) for i in slot_vocab(V, G))} of {G * V}")
    print(f"readings agree: {same}; confidence moves by {d.mean():.3f} on average, {d.max():.3f} at most")
    best = {k: min(v) for k, v in times.items()}
    for k, v in best.items(): print(f"{k:<26}{v:.3f} s")
    print(f"ratio: {best['all 512 ids'] / best['own ids only']:.1f}x (the classifier and the choice of each slot's id; turning them into text is the same either way)")


if __name__ == '__main__': main()
