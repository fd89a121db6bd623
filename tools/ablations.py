"""The guide's "future improvements" as config options of the tiny preset, trained alike and measured alike.

Each variant is the shipped preset (`tiny`) with one change. `configs` writes their model configs;
each is trained with the same command, on the same pages, for the same number of steps
(`imagetextslot-train --preset <config> ...`, see `COMMAND`); `evaluate` reads the runs' best
checkpoints and measures every one on the held-out pages of `tools/results.py` (Python's own
documentation, never seen in training), on this machine's CPU:

    python tools/ablations.py configs --out ablations/configs
    python tools/ablations.py evaluate --runs ablations/runs          # writes results/ablations.{json,md,png}
"""
import argparse, dataclasses, json, sys, time
from pathlib import Path

import torch

from imagetextslot.model import ImageTextSlotModel, preset_config
from imagetextslot.training import read_metrics

ROOT = Path(__file__).resolve().parent.parent
STEPS = 2000 # optimizer steps of every variant (512,000 pages at batch 256)
COMMAND = ("imagetextslot-train --preset {config} --data {data} --out {out} --batch_size 256 --lr 2e-3 --min_lr 2e-5 "
           f"--warmup_ratio 0.05 --max_steps {STEPS} --eval_every 500 --save_every 500 --eval_pages 512 --preload --num_workers 2 --device cuda")


def _with(cfg, part:str, **changes):
    "`cfg` with fields of one part config changed."
    return dataclasses.replace(cfg, **{part: dataclasses.replace(getattr(cfg, part), **changes)})


def variants() -> dict:
    "name -> (what changes, its `ModelConfig`): the tiny preset the shipped weights were trained as (mean counter) and one change each."
    t = _with(preset_config('tiny'), 'counter', pooling='mean', count_scale=32.0, grad_scale=0.0) # the shipped tiny model's counter
    t = dataclasses.replace(t, counter_loss_weight=0.1)
    larger = dataclasses.replace(t, encoder=dataclasses.replace(t.encoder, stem_channels=48, depths=(1, 1, 3, 1), dims=(48, 128, 128, 128)),
                                 slot_attention=dataclasses.replace(t.slot_attention, d_model=192, num_heads=6),
                                 counter=dataclasses.replace(t.counter, d_model=192, hidden_dim=96))
    return {
        'tiny': ('the shipped tiny model\'s architecture, retrained with the same budget', t),
        'counter-slot-sum': ('the counter scores every slot and sums the scores (pooling sum, not mean)',
                             _with(t, 'counter', pooling='sum', count_scale=32.0 / t.num_slots)),
        'counter-on-memory': ('the counter reads the feature tokens, one count per token, summed (allows length-adaptive decoding)',
                              _with(t, 'counter', source='memory', pooling='sum', count_scale=32.0 / 256)),
        'key-positions': ('2-D sine-cosine positions on the image tokens\' keys', _with(t, 'slot_attention', memory_pos='sincos')),
        'multi-scale': ('FPN-style tokens: stride-4 features plus the upsampled last stage (32x32 grid)', _with(t, 'encoder', fpn=True)),
        'slot-self-attention': ('the slots attend to each other after reading the page', _with(t, 'slot_attention', self_attn='after')),
        'two-blocks': ('iterative refinement: a second cross-attention block', _with(t, 'slot_attention', num_blocks=2)),
        'larger': ('a larger model: wider encoder and slots (stem 48, dims 48/128/128/128, depths 1/1/3/1, slots 192 wide)', larger),
    }


def write_configs(out:Path) -> list[Path]:
    "Write each variant's model config (the JSON `--preset` takes) into `out`."
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (_, cfg) in variants().items():
        p = out / f'{name}.json'
        p.write_text(json.dumps({'model_type': 'imagetextslot', **cfg.to_dict()}, indent=2))
        paths.append(p)
    return paths


def best_checkpoint(run:Path) -> tuple[Path, int]:
    "A run's `checkpoints/best` and the step it holds."
    best = run / 'checkpoints' / 'best'
    meta = json.loads((best / 'trainer.json').read_text())
    return best, int(meta['step'])


def row(name:str, change:str, run:Path, pages, batch_size:int) -> dict:
    "Measure one variant's best checkpoint: held-out CER and exact match, parameters, FLOPs and pages/s on this CPU."
    from imagetextslot.benchmarks import flops_per_page
    from imagetextslot.evaluation import evaluate
    best, step = best_checkpoint(run)
    model = ImageTextSlotModel.from_pretrained(best).eval()
    evaluate(model, pages, device='cpu', batch_size=batch_size, max_pages=8, progress=False) # warm-up, not timed
    m = evaluate(model, pages, device='cpu', batch_size=batch_size, progress=False).metrics
    recs = read_metrics(run)
    steps = [r for r in recs if r.get('split') == 'train']
    curve = [{k: r[k] for k in ('step', 'cer', 'exact_match', 'count_mae')} for r in recs if r.get('split') == 'valid']
    return dict(variant=name, change=change, parameters=sum(p.numel() for p in model.parameters()),
                gflops_per_page=flops_per_page(model) / 1e9, best_step=step, last_step=steps[-1]['step'] if steps else None,
                validation_curve=curve,
                cer=m['cer'], exact_match=m['exact_match'], count_mae=m['count_mae'], length_exact=m['length_exact'],
                pages_per_s=m['pages_per_s'])


def density(model, pages, cuts=(50, 100, 200, 300, None), batch_size:int=64) -> list[dict]:
    "CER and exact match on the held-out pages cut to their first `n` characters (`None`: whole), at the training layout."
    from imagetextslot.dataset import make_dataset
    from imagetextslot.evaluation import evaluate
    out = []
    for n in cuts:
        texts = [(f"{d}-{p}", t if n is None else t[:n].strip()) for d, p, t in zip(pages['doc'], pages['page'], pages['text'])]
        ds = pages if n is None else make_dataset(texts, n_pages=len(texts), val_fraction=0, seed=0, progress=False)['train']
        r = evaluate(model, ds, device='cpu', batch_size=batch_size, progress=False)
        out.append(dict(chars=float(r.table['ref_chars'].mean()), cer=r.metrics['cer'], exact_match=r.metrics['exact_match']))
    return out


def markdown(rows:list[dict], n_pages:int) -> str:
    "The ablation table in Markdown, best held-out CER first."
    head = ('| variant | change | parameters | GFLOP/page | held-out CER | exact match | counter MAE | pages/s (CPU) '
            f'| validation CER, step 500 / {STEPS} |')
    lines = [head, '|' + '---|' * 9]
    for r in sorted(rows, key=lambda r: r['cer']):
        v = {c['step']: c['cer'] for c in r['validation_curve']}
        val = ' / '.join(f"{100 * v[s]:.1f}%" if s in v else '-' for s in (500, STEPS))
        lines.append(f"| {r['variant']} | {r['change']} | {r['parameters']:,} | {r['gflops_per_page']:.3f} | {100 * r['cer']:.2f}% | "
                     f"{100 * r['exact_match']:.1f}% | {r['count_mae']:.2f} | {r['pages_per_s']:.0f} | {val} |")
    best = sorted({r['best_step'] for r in rows})
    return '\n'.join(lines) + (f"\n\nEvery variant trained {STEPS} steps of 256 pages on the same 228,000 pages; the held-out columns "
                               f"measure each run's best checkpoint by validation CER (step {', '.join(map(str, best))}) on "
                               f"{n_pages} pages of Python's documentation, on this CPU.\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('configs', help="write the variants' model configs")
    c.add_argument('--out', default='ablations/configs')
    e = sub.add_parser('evaluate', help="measure the trained variants and write results/ablations.*")
    e.add_argument('--runs', default='ablations/runs', help='a folder with one run folder per variant, named as the variant')
    e.add_argument('--pages', type=int, default=500)
    e.add_argument('--seed', type=int, default=0)
    e.add_argument('--batch_size', type=int, default=64)
    e.add_argument('--out', default=str(ROOT / 'results'))
    a = ap.parse_args(argv)
    if a.cmd == 'configs':
        for p in write_configs(Path(a.out)): print(p)
        return 0
    sys.path.insert(0, str(ROOT / 'tools'))
    from results import held_out_pages, cpu_name
    runs = Path(a.runs)
    missing = [n for n in variants() if not (runs / n / 'checkpoints' / 'best').is_dir()]
    if missing: print(f"no trained run for {', '.join(missing)} in {runs}: train them first (see COMMAND)", file=sys.stderr)
    pages, total = held_out_pages(a.pages, a.seed)
    rows = []
    for name, (change, _) in variants().items():
        if name in missing: continue
        t0 = time.perf_counter()
        rows.append(row(name, change, runs / name, pages, a.batch_size))
        print(f"{name}: CER {100 * rows[-1]['cer']:.2f}% ({time.perf_counter() - t0:.0f} s)", flush=True)
    if rows: # the density curve of the best variant, beside the retrained preset's
        best = min(rows, key=lambda r: r['cer'])['variant']
        for r in rows:
            if r['variant'] in {best, 'tiny'}:
                r['density'] = density(ImageTextSlotModel.from_pretrained(best_checkpoint(runs / r['variant'])[0]).eval(), pages)
                print(f"density of {r['variant']}: " + ', '.join(f"{d['chars']:.0f} chars CER {100 * d['cer']:.1f}%" for d in r['density']))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    meta = dict(pages=len(pages), source_pages=total, seed=a.seed, steps=STEPS, command=COMMAND, cpu=cpu_name(),
                threads=torch.get_num_threads(), torch=torch.__version__)
    (out / 'ablations.json').write_text(json.dumps({'meta': meta, 'rows': rows}, indent=2))
    (out / 'ablations.md').write_text(markdown(rows, len(pages)))
    print(markdown(rows, len(pages)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
