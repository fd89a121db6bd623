"""The training recipe, measured: short runs of the tiny preset from nothing, one change each, at equal pages.

Every variant trains the tiny preset from random weights on the same pages (`--data`, 32,000 pages: 1,000 steps of 32)
with the base recipe below and one change: the peak learning rate, the batch size (at equal pages, so fewer steps),
the schedule, label smoothing, weight decay, the counter's loss weight, an exponential moving average of the weights.
`run` trains the variants one after another on one thread (a variant whose run finished is skipped, so the command
resumes a study); `table` reads each run's validation curve and its best checkpoint on the held-out pages of
`tools/heldout.py` (the same pages for every run), and writes results/recipe.{json,md}.

    imagetextslot-data data/cpu-v2 --pages 60000 --seed 2     # the pages every variant trains on
    python tools/heldout.py                                   # data/heldout
    python tools/recipe.py run --data data/cpu-v2 --runs runs/recipe
    python tools/recipe.py table --runs runs/recipe --out results/recipe
"""
import argparse, dataclasses, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = dict(batch_size=32, lr=1.5e-3, min_lr=1e-5, warmup_ratio=0.03, weight_decay=1e-3, max_steps=1000)
BASE_MODEL = dict(label_smoothing=0.1) # the tiny preset's config as the study found it; a variant's own fields win
PAGES = BASE['batch_size'] * BASE['max_steps']

# name: (what changes, training options changed, model config fields changed)
VARIANTS = {
    'base': ('the base recipe: AdamW, lr 1.5e-3, batch 32, 3% warmup then cosine to 1e-5, smoothing 0.1, wd 1e-3, counter weight 1', {}, {}),
    'lr 3e-3': ('peak learning rate doubled', {'lr': 3e-3}, {}),
    'lr 7.5e-4': ('peak learning rate halved', {'lr': 7.5e-4}, {}),
    'lr 6e-3': ('peak learning rate four times the base', {'lr': 6e-3}, {}),
    'lr 1.2e-2': ('peak learning rate eight times the base', {'lr': 1.2e-2}, {}),
    'no smoothing': ('no label smoothing', {}, {'label_smoothing': 0.0}),
    'lr 6e-3, no smoothing': ('the two winners together: peak learning rate 6e-3, no label smoothing', {'lr': 6e-3}, {'label_smoothing': 0.0}),
    'constant lr': ('no cosine: the peak learning rate after warmup', {'min_lr': 1.5e-3}, {}),
    'lr 6e-3, no smoothing, constant': ('the two winners without the cosine: 6e-3 held after warmup, no label smoothing', {'lr': 6e-3, 'min_lr': 6e-3}, {'label_smoothing': 0.0}),
    'batch 64': ('64 pages a step, half the steps (equal pages)', {'batch_size': 64, 'max_steps': 500}, {}),
    'wd 0.05': ('weight decay 0.05', {'weight_decay': 0.05}, {}),
    'counter 0.3': ("the counter's loss weight 0.3", {}, {'counter_loss_weight': 0.3}),
    'ema 0.995': ('evaluate and keep an exponential moving average of the weights (decay 0.995)', {'ema': 0.995}, {}),
}


def slug(name:str) -> str: return name.replace(' ', '-')


def command(name:str, data:str, runs:Path, seed:int=0) -> list[str]:
    "The `imagetextslot-train` command of a variant (its model config written next to its run)."
    from imagetextslot.model import preset_config
    _, opts, fields = VARIANTS[name]
    run = runs / (slug(name) + (f'-seed{seed}' if seed else ''))
    run.mkdir(parents=True, exist_ok=True)
    cfg = dataclasses.replace(preset_config('tiny'), **{**BASE_MODEL, **fields})
    (run / 'model.json').write_text(json.dumps({'model_type': 'imagetextslot', **cfg.to_dict()}, indent=1))
    o = {**BASE, **opts}
    return [str(Path(sys.executable).parent / 'imagetextslot-train'), '--preset', str(run / 'model.json'), '--data', data, '--out', str(run), '--preload',
            '--eval_every', '100', '--eval_pages', '256', '--save_every', '100', '--threads', '1', '--seed', str(seed),
            '--quiet', *[a for k, v in o.items() for a in (f'--{k}', str(v))]]


def finished(run:Path) -> bool:
    "Did the run write its final report (trainer.json's step at max_steps)?"
    meta = run / 'checkpoints' / 'last' / 'trainer.json'
    if not meta.exists(): return False
    m = json.loads(meta.read_text())
    return m.get('step') == m.get('total_steps')


def run(a) -> None:
    runs = Path(a.runs)
    for seed in a.seeds:
        for name in a.variants or VARIANTS:
            out = runs / (slug(name) + (f'-seed{seed}' if seed else ''))
            if finished(out): print(f"{name} (seed {seed}): done"); continue
            cmd = command(name, a.data, runs, seed)
            if (out / 'checkpoints' / 'last').exists(): cmd.append('--resume')
            print(' '.join(cmd), flush=True)
            with open(out / 'train.log', 'a') as log: subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)


def table(a) -> None:
    import torch
    sys.path.insert(0, str(Path(__file__).parent))
    from compare import pages_of
    from imagetextslot.evaluation import cer, exact_match
    from imagetextslot.inference import load_page, read_pages, resolve_model
    from imagetextslot.training import read_metrics
    torch.set_num_threads(a.threads)
    sets = {s: pages_of(Path(a.heldout) / s, a.pages, 0) for s in a.sets}
    rows = []
    for d in sorted(Path(a.runs).iterdir()):
        if not finished(d): continue
        name, _, seed = d.name.partition('-seed')
        name = next(n for n in VARIANTS if slug(n) == name)
        valid = [r for r in read_metrics(d) if r.get('split') == 'valid']
        best = min(valid, key=lambda r: r['cer'])
        row = {'variant': name, 'seed': int(seed or 0), 'change': VARIANTS[name][0], 'valid_cer': best['cer'], 'best_step': best['step'],
               'last_cer': valid[-1]['cer'], 'curve': [(r['step'], r['cer']) for r in valid]}
        model = resolve_model(str(d), 'cpu')
        for s, ds in sets.items():
            preds = [r['text'] for r in read_pages([load_page(p) for p in ds['pixel_values']], model)]
            row[s] = {'cer': cer(preds, ds['text']), 'exact_match': exact_match(preds, ds['text'])}
        rows.append(row)
        print(f"{name} seed {row['seed']}: valid {100 * row['valid_cer']:.2f}% (step {row['best_step']}) | " +
              ' | '.join(f"{s} {100 * row[s]['cer']:.2f}%" for s in sets), flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.json').write_text(json.dumps({'base': BASE, 'pages': PAGES, 'heldout_pages': a.pages, 'rows': rows}, indent=1))
    head = '| variant | seed | validation CER (best step) | last | ' + ' | '.join(f'{s} CER' for s in sets) + ' |'
    lines = [head, '|' + '---|' * (4 + len(sets))]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['seed']} | {100 * r['valid_cer']:.2f}% ({r['best_step']}) | {100 * r['last_cer']:.2f}% | " +
                     ' | '.join(f"{100 * r[s]['cer']:.2f}%" for s in sets) + ' |')
    out.with_suffix('.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    sub = p.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run', help='train the variants, one after another')
    r.add_argument('--data', default='data/cpu-v2', help='the dataset folder every variant trains on')
    r.add_argument('--runs', default='runs/recipe', help='one run folder per variant and seed under this')
    r.add_argument('--variants', nargs='+', choices=list(VARIANTS), help='only these (default: all)')
    r.add_argument('--seeds', nargs='+', type=int, default=[0], help='seeds of every variant (default: 0)')
    t = sub.add_parser('table', help='measure the finished runs and write the table')
    t.add_argument('--runs', default='runs/recipe')
    t.add_argument('--heldout', default='data/heldout', help='folder of the held-out sets (tools/heldout.py)')
    t.add_argument('--sets', nargs='+', default=['python-docs', 'manpages'], help='held-out sets (default: python-docs manpages)')
    t.add_argument('--pages', type=int, default=100, help='held-out pages a set (default: 100)')
    t.add_argument('--threads', type=int, default=1)
    t.add_argument('--out', default='results/recipe', help='writes OUT.json and OUT.md')
    a = p.parse_args(argv)
    {'run': run, 'table': table}[a.cmd](a)


if __name__ == '__main__': main()
