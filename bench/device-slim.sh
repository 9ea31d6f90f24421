#!/usr/bin/env bash
# What a device call sends is the checkout's tracked files + its untracked files that git does
# not ignore + the carried paths, at most 64 MiB in all (/work/.library/device/README.md); the
# test fixtures alone are ~60 MiB. This takes them out of what travels for the call, and puts
# them back after, without a commit and without touching a file on disk:
#   bash bench/device-slim.sh on [carry paths...]   removes test/fixtures/ (but KEEP, below) from
#        the index (`git rm --cached`, the files stay on disk) and lists each removed file in the
#        exclude file (`git rev-parse --git-path info/exclude`), so they are neither tracked nor
#        untracked-not-ignored; then prints `size` and fails if that is 64 MiB or more.
#   bash bench/device-slim.sh off                   puts the index back as it was (`git reset` of
#        exactly the removed paths) and deletes the exclude lines it added; `git status` is then
#        what it was before `on`.
#   bash bench/device-slim.sh size [carry paths...] the bytes that would travel: every file of
#        `git ls-files -co --exclude-standard` that exists (a link counts as a link), ./shared if
#        present, and each carry path (du, apparent size); exit status 1 at 64 MiB or more.
#   bash bench/device-slim.sh status                on or off, and what is removed.
# Run it in the checkout the device call sends (the lead session's, not a helper's worktree).
# Between `on` and `off` do NOT commit or `git add -A`: the removed fixtures would be committed
# as deleted. `on` refuses when the fixtures have changes of their own (staged or not), so `off`
# restores exactly what HEAD has.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
# paths are file names, never patterns
export GIT_LITERAL_PATHSPECS=1
LIMIT=$((64 * 1024 * 1024))
SLIM=test/fixtures
# the GGUF writer's tokenizer (bench/make_gguf.ts --tokenizer), which bench/device.sh needs there
KEEP=test/fixtures/gguf/ernie45-moe-tiny-q4_0.gguf
STATE=$(git rev-parse --git-path device-slim.list)
EXCLUDE=$(git rev-parse --git-path info/exclude)
BEGIN='# >>> bench/device-slim.sh (remove with: bash bench/device-slim.sh off)'
END='# <<< bench/device-slim.sh'

size() {
  local tree=0 extra=0 b p
  # a tracked file deleted on disk does not travel: stat skips it (and fails, hence || true)
  tree=$(git ls-files -z -co --exclude-standard | xargs -0 -r stat -c '%s' -- 2>/dev/null | awk '{ s += $1 } END { print s + 0 }') || true
  echo "tracked + untracked-not-ignored files: $tree bytes"
  for p in shared "$@"; do
    # shared/ travels even when ignored (when not ignored, its files are counted above)
    if [ "$p" = shared ] && { [ ! -e shared ] || ! git check-ignore -q shared; }; then continue; fi
    [ -e "$p" ] || { echo "carry $p: missing" >&2; continue; }
    b=$(du -sb -- "$p" | cut -f1)
    echo "$( [ "$p" = shared ] && echo 'shared/ (travels)' || echo "carry $p"): $b bytes"
    extra=$((extra + b))
  done
  local total=$((tree + extra))
  echo "total that would travel: $total bytes ($(awk -v t="$total" 'BEGIN { printf "%.2f", t / 1048576 }') MiB; limit 64 MiB = $LIMIT)"
  if [ "$total" -ge "$LIMIT" ]; then
    echo "device-slim: $total bytes is over the device call's 64 MiB: it would be refused" >&2
    return 1
  fi
}

case "${1:-}" in
  on)
    shift
    [ ! -e "$STATE" ] || { echo "device-slim: already on (state in $STATE); run off first" >&2; exit 1; }
    if [ -n "$(git status --porcelain --untracked-files=no -- "$SLIM")" ]; then
      echo "device-slim: $SLIM has changes of its own; commit or stash them first, so off can restore HEAD's:" >&2
      git status --short -- "$SLIM" >&2
      exit 1
    fi
    git ls-files -z -- "$SLIM" | tr '\0' '\n' | grep -vxF -- "$KEEP" > "$STATE.tmp" || true
    if grep -q '[][*?!#\\]' "$STATE.tmp" || ! [ -s "$STATE.tmp" ]; then
      rm -f "$STATE.tmp"
      echo "device-slim: nothing to remove under $SLIM, or a path there has a character the exclude file treats as a pattern" >&2
      exit 1
    fi
    git rev-parse HEAD > "$STATE.head"
    mv "$STATE.tmp" "$STATE"
    tr '\n' '\0' < "$STATE" | git rm -q -r --cached --pathspec-from-file=- --pathspec-file-nul
    mkdir -p "$(dirname "$EXCLUDE")"
    # an exclude file whose last line has no newline gets one (and loses it again at off)
    if [ -s "$EXCLUDE" ] && [ -n "$(tail -c 1 "$EXCLUDE")" ]; then echo >> "$EXCLUDE"; : > "$STATE.nl"; fi
    { echo "$BEGIN"; sed 's|^|/|' "$STATE"; echo "$END"; } >> "$EXCLUDE"
    echo "device-slim on: $(wc -l < "$STATE") files under $SLIM out of the index and excluded (still on disk); kept: $KEEP"
    echo "  do not commit until: bash bench/device-slim.sh off"
    size "$@"
    ;;
  off)
    [ -e "$STATE" ] || { echo "device-slim: not on (no $STATE)"; exit 0; }
    if [ "$(git rev-parse HEAD)" != "$(cat "$STATE.head")" ] && [ -n "$(git diff --name-only "$(cat "$STATE.head")" HEAD -- "$SLIM")" ]; then
      echo "device-slim: WARNING: a commit since 'on' changed $SLIM (were the fixtures committed as deleted?): check git log -- $SLIM" >&2
    fi
    tr '\n' '\0' < "$STATE" | git reset -q --pathspec-from-file=- --pathspec-file-nul
    # drop the block between the markers (and only it)
    awk -v b="$BEGIN" -v e="$END" '$0 == b { skip = 1; next } skip && $0 == e { skip = 0; next } !skip' "$EXCLUDE" > "$EXCLUDE.tmp"
    if [ -e "$STATE.nl" ]; then head -c -1 "$EXCLUDE.tmp" > "$EXCLUDE"; else cat "$EXCLUDE.tmp" > "$EXCLUDE"; fi
    rm -f "$EXCLUDE.tmp"
    n=$(wc -l < "$STATE")
    rm -f "$STATE" "$STATE.head" "$STATE.nl"
    left=$(git status --porcelain -- "$SLIM")
    [ -z "$left" ] || { echo "device-slim: $SLIM is not back to HEAD's:" >&2; echo "$left" >&2; exit 1; }
    echo "device-slim off: $n files back in the index, exclude lines removed; git status of $SLIM is clean"
    ;;
  size)
    shift
    size "$@"
    ;;
  status)
    if [ -e "$STATE" ]; then echo "on: $(wc -l < "$STATE") files under $SLIM removed from the index (since HEAD $(cut -c1-8 "$STATE.head"))"; else echo off; fi
    ;;
  *)
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
