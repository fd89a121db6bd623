"""Compare trained models on the held-out pages, clean and altered, at equal terms: the check of a training recipe.

For each model (named on the command line as NAME=PATH, PATH a shipped name, a `save_pretrained` folder or a training
run folder), reads the same --pages pages of every held-out set of `tools/heldout.py` (drawn with --seed from the
ASCII and the multi-byte pages together) as they are and as `tools/results.py` alters them (shifted by up to 3 px,
grey background, JPEG q75, binarised), each with `read_pages` after `load_page`, as a user's images are read. Prints
the CER of each and writes them to --out (JSON).

    python tools/heldout.py                         # data/heldout
    python tools/compare.py clean=runs/augcmp/clean aug=runs/augcmp/aug --out results/augmentation.json
"""
import argparse, json, sys, time, warnings
from pathlib import Path

import datasets
import torch

sys.path.insert(0, str(Path(__file__).parent))
from results import ALTERED, SETS, altered_pages  # the same alterations as the results table
from imagetextslot.evaluation import cer, exact_match
from imagetextslot.inference import load_page, read_pages, resolve_model


def pages_of(folder:Path, n:int, seed:int) -> datasets.Dataset:
    "`n` pages of a held-out set, drawn with `seed` from its ASCII and multi-byte splits together."
    dsd = datasets.load_from_disk(str(folder))
    ds = datasets.concatenate_datasets([dsd[k] for k in dsd]).shuffle(seed=seed)
    return ds.select(range(min(n, len(ds))))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    p.add_argument('models', nargs='+', help='NAME=PATH: a shipped name, a save_pretrained folder or a training run folder')
    p.add_argument('--heldout', default='data/heldout', help='folder of the held-out sets (default: data/heldout)')
    p.add_argument('--sets', nargs='+', choices=SETS, default=list(SETS), help='the sets to read (default: all)')
    p.add_argument('--pages', type=int, default=100, help='pages of each set (default: 100)')
    p.add_argument('--seed', type=int, default=0, help='which pages, and the shifts (default: 0)')
    p.add_argument('--out', default=None, help='write the figures to this JSON file')
    a = p.parse_args(argv)
    models = dict(m.split('=', 1) for m in a.models if '=' in m)
    if len(models) != len(a.models): p.error('name each model as NAME=PATH')
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore', category=UserWarning)   # load_page's notes on odd pages: not this comparison's business
    datasets.disable_progress_bars()
    sets = {s: pages_of(Path(a.heldout)/s, a.pages, a.seed) for s in a.sets}
    variants = {s: {'clean': list(ds['pixel_values']), **altered_pages(list(ds['pixel_values']), a.seed)} for s, ds in sets.items()}
    res = {}
    for name, path in models.items():
        t0 = time.perf_counter()
        model = resolve_model(path, "cpu")
        res[name] = {'path': path}
        for s, ds in sets.items():
            for v, pages in variants[s].items():
                preds = [r['text'] for r in read_pages([load_page(pg) for pg in pages], model)]
                res[name][f'{s} {v}'] = {'cer': cer(preds, ds['text']), 'exact_match': exact_match(preds, ds['text'])}
        print(f"{name} ({time.perf_counter() - t0:.0f} s): " +
              ' | '.join(f"{k} {100 * r['cer']:.2f}%" for k, r in res[name].items() if k != 'path'), flush=True)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(dict(command=' '.join(['python', 'tools/compare.py'] + (sys.argv[1:] if argv is None else list(argv))),
                                               pages=a.pages, seed=a.seed, sets=a.sets, altered=list(ALTERED), models=res), indent=1) + '\n')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
