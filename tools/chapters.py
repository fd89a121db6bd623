"""How the chapters read, in numbers: exported cells' lengths and definitions, modules' lengths.

For every numbered chapter in nbs/: its exported cells (`#| export`, `#| exports`), their median length in lines (the
directive line not counted) and the top-level definitions (def, class, assignment of a name in capitals) per cell; for
every module of the package, its lines. Exits 1 when --check is given and a limit is broken.

    python tools/chapters.py
    python tools/chapters.py --check --max_median 15 --max_module 400
"""
import argparse, ast, json, statistics, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def exported_cells(nb:Path) -> list[str]:
    "Sources of the exported code cells of a notebook, without their directive lines."
    cells = json.loads(nb.read_text())['cells']
    out = []
    for c in cells:
        src = ''.join(c['source'])
        lines = src.splitlines()
        if c['cell_type'] == 'code' and lines and lines[0].replace(' ', '').startswith(('#|export', '#|exports')):
            out.append('\n'.join(l for l in lines if not l.replace(' ', '').startswith('#|')))
    return out


def definitions(src:str) -> int:
    "Top-level definitions in a cell: functions, classes, and names in capitals assigned a value."
    try: tree = ast.parse(src)
    except SyntaxError: return 0
    n = 0
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): n += 1
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets): n += 1
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--check', action='store_true', help='exit 1 when a limit is broken')
    p.add_argument('--max_median', type=float, default=15, help='largest median exported cell, in lines (default: 15)')
    p.add_argument('--max_module', type=int, default=400, help='largest module, in lines (default: 400)')
    a = p.parse_args(argv)
    allcells, rows = [], []
    for nb in sorted((ROOT / 'nbs').glob('[0-9]*.ipynb')):
        cells = exported_cells(nb)
        if not cells: continue
        allcells += cells
        lens = [len(c.splitlines()) for c in cells]
        rows.append((nb.stem, len(cells), statistics.median(lens), sum(map(definitions, cells)) / len(cells)))
    print(f"{'chapter':<24}{'cells':>6}{'median lines':>14}{'defs/cell':>11}")
    for r in rows: print(f"{r[0]:<24}{r[1]:>6}{r[2]:>14.1f}{r[3]:>11.2f}")
    lens = [len(c.splitlines()) for c in allcells]
    median = statistics.median(lens)
    print(f"{'all':<24}{len(allcells):>6}{median:>14.1f}{sum(map(definitions, allcells)) / len(allcells):>11.2f}\n")
    mods = sorted(((len(f.read_text().splitlines()), f.name) for f in (ROOT / 'imagetextslot').glob('*.py') if f.name != '_modidx.py'), reverse=True)
    print(f"{'module':<24}{'lines':>6}")
    for n, name in mods: print(f"{name:<24}{n:>6}" + ('  over the limit' if n > a.max_module else ''))
    broken = median > a.max_median or any(n > a.max_module for n, _ in mods)
    return int(a.check and broken)


if __name__ == '__main__': sys.exit(main())
