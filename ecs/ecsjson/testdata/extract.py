# extract.py writes, as JSON, ECS's documented responses by operation: the
# outputs shown in the aws CLI's ECS examples (awscli/examples/ecs/*.rst) and
# botocore's examples-1.json for ECS, both from the installed packages. Some
# CLI examples are hand-written JSON with a missing or extra comma; those are
# repaired and say so in their source. Run: python3 extract.py > examples.json
import json, os, re, sys, gzip
import awscli, botocore
from botocore import xform_name
EX = os.path.join(os.path.dirname(awscli.__file__), 'examples', 'ecs')
BC = os.path.join(os.path.dirname(botocore.__file__), 'data', 'ecs', '2014-11-13')
model = json.load(gzip.open(os.path.join(BC, 'service-2.json.gz')))
ops = {xform_name(o).replace('_', '-'): o for o in model['operations']}
out = {}
def repair(s):
    fixes = []
    for _ in range(6):
        try:
            return json.loads(s), ', '.join(fixes)
        except Exception as e:
            msg = str(e)
        t = re.sub(r',(\s*[\]}])', r'\1', s)
        if t != s: s = t; fixes.append('trailing comma'); continue
        t = re.sub(r'([0-9"\]}el])(\n\s*")', r'\1,\2', s)
        if t != s: s = t; fixes.append('missing comma'); continue
        if s.startswith('"'): s = '{' + s + '}'; fixes.append('outer braces'); continue
        if 'Expecting' in msg and s.count('{') > s.count('}'): s = s + '}'; fixes.append('closing brace'); continue
        return None, msg
    return None, 'unrepaired'
bad = []
for fn in sorted(os.listdir(EX)):
    if not fn.endswith('.rst'): continue
    text = open(os.path.join(EX, fn)).read()
    op = ops.get(fn[:-4])
    if not op:  # a file not named after its operation: the command it shows
        cmd = re.search(r'aws ecs ([a-z-]+)', text)
        op = cmd and ops.get(cmd.group(1))
    if not op: bad.append(fn); continue
    lines = text.split('\n')
    i = 0; n = 0
    while i < len(lines):
        if lines[i].rstrip().endswith('::') and 'output' in lines[i].lower():
            j = i + 1
            block = []
            while j < len(lines) and (lines[j].strip() == '' or lines[j].startswith(' ')):
                block.append(lines[j]); j += 1
            s = '\n'.join(block).strip()
            if not s.startswith(('{', '"')):
                i = j
                continue
            n += 1
            doc, how = repair(s)
            if doc is not None:
                src = 'aws CLI example ecs/%s #%d' % (fn, n)
                if how: src += ' (repaired: %s)' % how
                out.setdefault(op, []).append({'source': src, 'output': doc})
            else:
                bad.append('%s #%d' % (fn, n))
            i = j
        else:
            i += 1
ex = json.load(open(os.path.join(BC, 'examples-1.json')))['examples']
for op, items in ex.items():
    for k, it in enumerate(items):
        if it.get('output') is not None:
            out.setdefault(op, []).append({'source': 'botocore examples-1.json ecs %s #%d (%s)' % (op, k+1, it.get('id','')), 'output': it['output']})
json.dump(out, sys.stdout, indent=1, sort_keys=True); print()
print(len(out), 'operations;', sum(len(v) for v in out.values()), 'examples', file=sys.stderr)
print('unreadable:', bad, file=sys.stderr)
print('no example:', sorted(set(model['operations']) - set(out)), file=sys.stderr)
