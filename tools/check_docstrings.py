"""Fail when an exported symbol has no docstring, or does not appear in the docs.

Walks `imagetextslot/_modidx.py` (nbdev's index of every function, class and method the notebooks
export) and imports each symbol. A symbol is checked when it is public API: a function or class
in its module's `__all__`, a public method of such a class, or a dunder method added with
`@patch` (nbdev documents those, e.g. `ByteTokenizer.__call__`). Private names (`_x`) and dunders
defined in a class body (`__init__`, `__repr__`, ...) are skipped; the class docstring covers them.

A docstring must be the symbol's own: a subclass or an overriding method without one would
otherwise show its parent's text (`nn.Module.forward`'s), and a dataclass without one gets a
generated signature, which is not documentation either.

With `--proc _proc` (the folder `tools/docs_preview.py` fills) it also checks that every
function and class of `__all__` has a `show_doc` cell in the processed notebooks, i.e. that its
API page shows it; methods not shown are listed as notes. Arguments without a docments comment
are listed as notes (`--strict-args` makes them failures).

    python tools/check_docstrings.py --proc _proc
"""
import argparse, ast, dataclasses, importlib, inspect, json, re, sys
from pathlib import Path

from nbdev.config import get_config


def _own_doc(obj, owner=None, name=None):
    "`obj`'s own docstring (not inherited, not a dataclass's generated signature), or None."
    if owner is not None:  # a method: look it up where it is defined, unwrapping property/classmethod/staticmethod
        for klass in inspect.getmro(owner):
            if name in vars(klass): obj = vars(klass)[name]; break
        if isinstance(obj, property): obj = obj.fget
        elif isinstance(obj, (classmethod, staticmethod)): obj = obj.__func__
        elif type(obj).__name__ == '_clsmethod': obj = obj.f  # fastcore's `@patch(cls_method=True)`
    doc = vars(obj).get('__doc__') if isinstance(obj, type) else getattr(obj, '__doc__', None)
    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and doc and doc.startswith(f'{obj.__name__}('): doc = None
    return doc.strip() if isinstance(doc, str) and doc.strip() else None


def _patched_dunders(mod) -> set:
    "`Class.__dunder__` names that `mod` adds with fastcore's `@patch` at top level (nbdev documents those)."
    try: tree = ast.parse(inspect.getsource(mod))
    except (OSError, TypeError): return set()
    res = set()
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not re.fullmatch(r'__\w+__', node.name): continue
        if not any('patch' in ast.unparse(d) for d in node.decorator_list) or not node.args.args: continue
        ann = node.args.args[0].annotation
        for cls in (re.split(r'\s*\|\s*', ast.unparse(ann).strip('()')) if ann is not None else []):
            res.add(f'{cls.split(".")[-1]}.{node.name}')
    return res


def _undocumented_args(func) -> list:
    "Arguments of `func` (but `self`, `cls`, `*args`, `**kwargs`) without a docments comment."
    try:
        from fastcore.docments import docments
        docs = docments(func, full=True)
    except Exception: return []
    return [k for k, v in docs.items() if k not in ('self', 'cls', 'return') and v.get('kind') not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            and not v.get('docment')]


def _shown(proc:Path) -> set:
    "Names passed to `show_doc` in the processed notebooks under `proc` (what the API pages show)."
    names = set()
    for nb in proc.rglob('*.ipynb'):
        for cell in json.loads(nb.read_text(encoding='utf-8')).get('cells', []):
            if cell.get('cell_type') == 'code':
                names.update(re.findall(r'^show_doc\(\s*([\w.]+)', ''.join(cell.get('source', [])), re.M))
    return names


def check(proc:Path=None, strict_args:bool=False) -> int:
    "Print the problems found; their number."
    cfg = get_config()
    sys.path.insert(0, str(cfg.lib_path.parent))  # this checkout's package, whatever else is installed
    modidx = cfg.lib_path/'_modidx.py'
    if not modidx.exists(): sys.exit(f'{modidx} not found: run nbdev_export')
    ns = {}
    exec(compile(modidx.read_text(encoding='utf-8'), str(modidx), 'exec'), ns)
    idx = ns['d']['syms']
    fails, notes, n_checked = [], [], 0
    shown = _shown(proc) if proc else None
    for modname, syms in idx.items():
        try: mod = importlib.import_module(modname)
        except Exception as e:
            fails.append(f'{modname}: cannot be imported ({type(e).__name__}: {e})'); continue
        public = set(getattr(mod, '__all__', [n for n in vars(mod) if not n.startswith('_')]))
        patched = _patched_dunders(mod)
        for full in syms:
            qual = full[len(modname)+1:]
            parts = qual.split('.')
            if parts[0] not in public: continue  # private, or not exported to users (`#| exporti`)
            if any(p.startswith('_') and not re.fullmatch(r'__\w+__', p) for p in parts): continue
            if len(parts) > 1 and re.fullmatch(r'__\w+__', parts[-1]) and qual not in patched: continue
            obj, owner = mod, None
            try:
                for p in parts: owner, obj = obj, getattr(obj, p)
            except AttributeError:
                fails.append(f'{full}: listed in _modidx.py but not found (run nbdev_export)'); continue
            if owner is mod: owner = None
            n_checked += 1
            where = f'{full}  ({idx[modname][full][0]})'
            if not _own_doc(obj, owner, parts[-1]): fails.append(f'{where}: no docstring')
            if callable(obj) and not isinstance(obj, type):
                if missing := _undocumented_args(obj): notes.append(f'{full}: arguments without a docments comment: {", ".join(missing)}')
            if shown is not None and qual not in shown:
                if len(parts) == 1: fails.append(f'{where}: not shown in the docs (no show_doc; is its export cell hidden?)')
                else: notes.append(f'{full}: method not shown in the docs (add `show_doc({qual})` if it matters to users)')
    for n in notes: print(f'note: {n}')
    for f in fails: print(f'FAIL: {f}')
    if strict_args: fails += [n for n in notes if 'docments' in n]
    print(f"checked {n_checked} public symbols for a docstring{' and a show_doc on their page' if proc else ''}")
    print(f'docstrings: {max(n_checked - len(fails), 0)} passed, {len(fails)} failed')
    return len(fails)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--proc', help="folder of notebooks processed for the docs (`_proc`, from tools/docs_preview.py): also check they show every symbol")
    p.add_argument('--strict-args', action='store_true', help='fail on arguments without a docments comment too')
    args = p.parse_args()
    proc = Path(args.proc) if args.proc else None
    if proc and not proc.is_dir(): sys.exit(f'{proc} not found: run `python tools/docs_preview.py` first')
    sys.exit(1 if check(proc, args.strict_args) else 0)


if __name__ == '__main__': main()
