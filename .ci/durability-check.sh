#!/usr/bin/env bash
# Checkpoints survive a power cut: under strace, every save of tests/CrashTrainee's checkpoint (one per optimizer step)
# must fsync the temporary file, then rename it over the checkpoint, then fsync the directory that holds it (without
# the last step a power cut can lose the rename). Checkpoints, exported weights and the tool's files are all written by
# the same DurableFile.Write, so this checks all of them. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

if ! command -v strace >/dev/null 2>&1; then
  apt-get install -y -qq strace >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq strace >/dev/null 2>&1; }
fi
if ! command -v strace >/dev/null 2>&1; then
  echo "strace is not installed and could not be installed"
  echo "0 passed, 1 failed"
  exit 1
fi

trainee=tests/CrashTrainee/bin/Debug/net10.0/CrashTrainee.dll
[ -f "$trainee" ] || dotnet build tests/CrashTrainee -nologo -v q >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== CrashTrainee under strace (checkpoint after every step)"
check strace -f -qq -o "$work/trace" -e trace=openat,open,close,fsync,fdatasync,rename,renameat,renameat2 \
  dotnet "$trainee" "$work/run"

echo "== every save: fsync(file) -> rename(file.tmp, file) -> fsync(directory)"
check python3 - "$work/trace" "$work/run" <<'EOF'
import re, sys
trace, folder = sys.argv[1], sys.argv[2]
opened = {}          # (pid, fd) -> path, for the descriptors still open
synced = set()       # temporary files fsynced since they were opened
pending = None       # a rename whose directory has not been fsynced yet
saves = {}           # target file -> number of complete saves
problems = []
unfinished = {}      # pid -> the first half of a call another thread's call interrupted in the trace
def calls():
    for line in open(trace):
        line = line.rstrip('\n')
        m = re.match(r'(\d+)\s+(.*) <unfinished \.\.\.>$', line)
        if m:
            unfinished[m.group(1)] = m.group(2)
            continue
        m = re.match(r'(\d+)\s+<\.\.\. \w+ resumed>(.*)$', line)
        if m:
            line = m.group(1) + ' ' + unfinished.pop(m.group(1), '') + m.group(2)
        yield line
for line in calls():
    m = re.match(r'(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)', line)
    if not m:
        continue
    pid, call, arguments, result = m.group(1), m.group(2), m.group(3), int(m.group(4))
    if result < 0:
        continue
    if call in ('open', 'openat'):
        path = re.search(r'"([^"]*)"', arguments).group(1)
        opened[(pid, result)] = path
    elif call in ('fsync', 'fdatasync'):
        path = opened.get((pid, int(arguments.split(',')[0])), '')
        if path.endswith('.tmp'):
            synced.add(path)
        elif pending and path.rstrip('/') == pending[1]:
            saves[pending[0]] = saves.get(pending[0], 0) + 1
            pending = None
    elif call == 'close':
        opened.pop((pid, int(arguments)), None)
    elif call.startswith('rename'):
        source, target = re.findall(r'"([^"]*)"', arguments)[:2]
        if not source.startswith(folder):
            continue
        if pending:
            problems.append(f'{pending[0]}: renamed, but its directory was not fsynced before the next rename')
        if source not in synced:
            problems.append(f'{target}: renamed from {source} without an fsync of the file first')
        synced.discard(source)
        pending = (target, target.rsplit('/', 1)[0])
if pending:
    problems.append(f'{pending[0]}: renamed, but its directory was never fsynced')
checkpoints = sum(n for t, n in saves.items() if t.endswith('trainee.ckpt'))
print(f'complete durable saves: {saves}')
for p in problems[:10]:
    print('problem:', p)
sys.exit(0 if not problems and checkpoints > 0 else 1)
EOF

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
