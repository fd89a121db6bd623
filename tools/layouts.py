"""Compare two or more trained models (the slot layouts, at an equal budget) on held-out pages, and check drift.

For each model (a `save_pretrained` folder or a training run folder, named on the command line as NAME=PATH):

  held-out   CER and exact match on the sets `tools/heldout.py` writes (python-docs and manpages), each split into
             pages of ASCII characters only and pages with multi-byte characters;
  drift      the python-docs ASCII pages as they are, then with 8 letters swapped for accented ones (2 UTF-8 bytes)
             and with 8 swapped for three-byte characters (the same positions and pages for every model); a reader
             that loses its place after a multi-byte character reads the swapped pages far worse;
  curve      the validation CER of the run at each evaluation (from its metrics.jsonl), when PATH is a run folder
             or a snapshot of one inside it.

Writes --out (JSON) and prints a table per part.

    python tools/heldout.py                         # data/heldout
    python tools/layouts.py bytes=runs/cmp/bytes cells=runs/cmp/cells --out results/layouts.json
"""
import argparse, json, random, time
from pathlib import Path

import torch
from datasets import Dataset, load_from_disk

from imagetextslot.dataset import render_page
from imagetextslot.evaluation import evaluate, load_model

ACCENTED = 'àèéìòùçüöäßñâêôÉÀ'   # two UTF-8 bytes each
THREE_BYTE = '€“”‘’–—…•'          # three UTF-8 bytes each


def swapped(label:str, chars:str, k:int, rng:random.Random) -> str:
    "`label` with `k` of its letters (chosen by `rng`) replaced by characters drawn from `chars`."
    letters = [i for i, c in enumerate(label) if c.isascii() and c.isalpha()]
    out = list(label)
    for i in rng.sample(letters, min(k, len(letters))): out[i] = rng.choice(chars)
    return ''.join(out)


def drift_sets(ascii_pages:Dataset, n:int, k:int=8, seed:int=0) -> dict:
    "The first `n` ASCII pages as they are, with `k` letters made accented, and with `k` made three-byte characters."
    labels = [t for t in ascii_pages['text'] if sum(c.isalpha() for c in t) >= 4 * k][:n]
    out = {'ascii': labels}
    for name, chars in (('accented', ACCENTED), ('three-byte', THREE_BYTE)):
        rng = random.Random(f'{seed}:{name}')
        out[name] = [swapped(t, chars, k, rng) for t in labels]
    return {name: Dataset.from_dict({'pixel_values': [render_page(t) for t in ts], 'text': ts}) for name, ts in out.items()}


def curve(path:Path) -> list:
    "Validation CER by step of the run that `path` belongs to (a run folder, or a checkpoint inside one)."
    for d in (path, *path.parents):
        if (d / 'metrics.jsonl').exists():
            rows = [json.loads(l) for l in (d / 'metrics.jsonl').read_text().splitlines() if l.strip()]
            return [{'step': r['step'], 'cer': r['cer'], 'count_mae': r.get('count_mae')} for r in rows if r.get('split') == 'valid']
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('models', nargs='+', help='NAME=PATH: a save_pretrained folder or a training run folder')
    ap.add_argument('--heldout', default='data/heldout', help='folder written by tools/heldout.py')
    ap.add_argument('--drift_pages', type=int, default=200, help='ASCII python-docs pages in the drift check')
    ap.add_argument('--curve_from', action='append', default=[], help='NAME=RUN: read the validation curve of NAME from this run folder')
    ap.add_argument('--threads', type=int, default=None, help='CPU threads for PyTorch')
    ap.add_argument('--out', default='results/layouts.json')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    models = dict(m.split('=', 1) for m in a.models)
    curve_from = dict(m.split('=', 1) for m in a.curve_from)
    held = Path(a.heldout)
    if not held.exists(): raise SystemExit(f"{held}: no held-out pages; build them with `python tools/heldout.py --out {held}`")
    sets = {f'{s}/{split}': load_from_disk(str(held / s))[split] for s in ('python-docs', 'manpages') for split in ('ascii', 'multibyte')}
    drift = drift_sets(sets['python-docs/ascii'], a.drift_pages)
    res = {'models': {}, 'sets': {k: len(v) for k, v in {**sets, **{f'drift/{k}': v for k, v in drift.items()}}.items()}}
    for name, path in models.items():
        t0 = time.time()
        model = load_model(path, 'cpu')
        row = {'path': path, 'parameters': sum(p.numel() for p in model.parameters()),
               'slot_layout': model.cfg.slot_attention.slot_layout, 'heldout': {}, 'drift': {}}
        for k, ds in sets.items():
            m = evaluate(model, ds, progress=False).metrics
            row['heldout'][k] = {'pages': m['pages'], 'cer': m['cer'], 'exact_match': m['exact_match'], 'count_mae': m['count_mae']}
        for k, ds in drift.items():
            m = evaluate(model, ds, progress=False).metrics
            row['drift'][k] = {'pages': m['pages'], 'cer': m['cer'], 'exact_match': m['exact_match']}
        row['curve'] = curve(Path(curve_from.get(name, path)))
        res['models'][name] = row
        print(f"{name}: {time.time() - t0:.0f} s")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"\n{'model':<10}" + ''.join(f'{k:>24}' for k in sets))
    for name, row in res['models'].items():
        print(f'{name:<10}' + ''.join(f"{row['heldout'][k]['cer']:>14.2%} CER {row['heldout'][k]['exact_match']:>5.0%}" for k in sets))
    print(f"\ndrift ({a.drift_pages} python-docs ASCII pages; 8 letters swapped): CER")
    for name, row in res['models'].items():
        d = row['drift']
        limit = 1.5 * d['ascii']['cer'] + 0.01
        print(f"{name:<10} ascii {d['ascii']['cer']:.2%}  accented {d['accented']['cer']:.2%}  three-byte {d['three-byte']['cer']:.2%}  "
              f"(limit 1.5 x ascii + 1 point = {limit:.2%})")
    print(f"\nwrote {a.out}")


if __name__ == '__main__': main()
