#!/bin/bash
# shellcheck shell=bash
# snippet.sh - the code blocks of authgate's guides (docs/*.md) and of
# README.md, for the tests that exercise them.
#
# THE RULE.  Every fenced code block in docs/*.md and README.md is a snippet
# and names itself in its info string, after the language:
#
#     ```ini snippet=postfix-smtpd-conf
#     pwcheck_method: saslauthd
#     ```
#
# Names are [a-z0-9][a-z0-9.-]* and unique across these files.  The form
# used by the authgate-query guides, an HTML comment on the line just
# before the fence (`<!-- authgate-test: NAME -->`), names a block too.  Every name
# must be used, literally, by some test: `snippet_get NAME`, `snippet_file
# NAME`, `snippet_run NAME`, or `snippet.sh get|file|run NAME` in a file
# outside docs/ (the usual places:
# tests/docs/, tests/demo/, tests/mta/, tests/milter-mta/, the query
# tests).  A test uses a snippet the way an admin would: as the content of a
# configuration file of a running MTA or daemon, as commands it runs, or as
# the output it compares with what a real program printed.  `snippet.sh
# check` (the unit test docs-snippets) fails on a block without a name, a
# repeated name, or a name no test uses; and on a relative link
# ([text](path)) in these files whose target does not exist.  Man pages are not covered: they
# are checked by their components' own tests.
#
# Guides show real paths (/var/lib/authgate, /etc/postfix ...); a test maps
# them into its sandbox with FROM=TO arguments, and each FROM must occur in
# the block, so a guide that changes a path breaks the test that relies on
# it instead of silently testing something else.
#
# USE from a bash test:   . "$TOP/tests/docs/snippet.sh"
#   snippet_get NAME [FROM=TO]...   Print the block's text (lines as in the
#       guide, minus the fence's indentation), every FROM replaced by TO
#       (literal strings, in argument order).  Status 1 with a message on
#       stderr when NAME is unknown or a FROM does not occur.
#   snippet_file NAME FILE [FROM=TO]...   The same, into FILE (mode 0644).
#   snippet_run NAME [FROM=TO]...   Run the block (shell commands) with
#       bash -eu; its output and exit status are the commands'.
#   snippet_where NAME       Print "docs/FILE.md:LINE" of the block.
#   snippet_list             Print "NAME FILE:LINE LANG" for every block.
#   snippet_uses             Print "NAME FILE..." for every block: the files
#       outside docs/ that use it.
#   snippet_check            Print every problem; status 1 if any.
# or as a command:  tests/docs/snippet.sh get|file|run|where|list|uses|check [ARG]...
#
# ENVIRONMENT: SNIPPET_TOP, the source tree (default: two levels above this
# file).  Needs bash, awk, grep, find.

SNIPPET_TOP=${SNIPPET_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# snippet__blocks: one record per block on stdout:
#   NAME \t FILE:LINE \t LANG \t BODY-with-\n-escaped-as-\001
# FILE is relative to SNIPPET_TOP; an unnamed block has NAME "-".
snippet__blocks() {
    local f
    for f in "$SNIPPET_TOP"/docs/*.md "$SNIPPET_TOP"/README.md; do
        [ -e "$f" ] || continue
        awk -v file="${f#"$SNIPPET_TOP"/}" '
            function flush() {
                printf "%s\t%s:%d\t%s\t%s\n", name, file, start, lang, body
            }
            !infence && /^<!-- authgate-test: [a-z0-9][a-z0-9.-]* -->$/ {
                pending = $3
                next
            }
            !infence && match($0, /^ *(```+|~~~+)/) {
                indent = 0
                while (substr($0, indent + 1, 1) == " ") indent++
                fence = substr($0, indent + 1, RLENGTH - indent)
                info = substr($0, RLENGTH + 1)
                lang = info; sub(/^[ \t]+/, "", lang); sub(/[ \t].*$/, "", lang)
                if (lang == "" || lang ~ /^snippet=/) lang = "-"
                name = "-"
                n = split(info, w, /[ \t]+/)
                for (i = 1; i <= n; i++)
                    if (w[i] ~ /^snippet=/) name = substr(w[i], 9)
                if (name == "-" && pending != "") name = pending
                pending = ""
                infence = 1; start = FNR; body = ""; first = 1
                next
            }
            !infence { pending = "" }
            infence {
                line = $0
                if (match(line, /^ *(```+|~~~+)[ \t]*$/)) {
                    t = line; sub(/^ */, "", t); sub(/[ \t]*$/, "", t)
                    if (substr(t, 1, 1) == substr(fence, 1, 1) && length(t) >= length(fence)) {
                        flush(); infence = 0; next
                    }
                }
                for (i = 0; i < indent && substr(line, 1, 1) == " "; i++) line = substr(line, 2)
                body = body (first ? "" : "\001") line
                first = 0
            }
            END { if (infence) { body = "\002unterminated"; flush() } }
        ' "$f"
    done
}

snippet__record() {
    snippet__blocks | awk -F '\t' -v n="$1" '$1 == n { print; exit }'
}

snippet_get() {
    local name=$1 rec body pair from to
    shift
    rec=$(snippet__record "$name")
    if [ -z "$rec" ]; then
        echo "snippet: no block named \"$name\" in $SNIPPET_TOP/docs/*.md or README.md" >&2
        return 1
    fi
    body=${rec#*$'\t'*$'\t'*$'\t'}
    body=${body//$'\001'/$'\n'}
    for pair in "$@"; do
        from=${pair%%=*}
        to=${pair#*=}
        if [ "$from" = "$pair" ] || [ -z "$from" ]; then
            echo "snippet: $name: bad substitution \"$pair\" (want FROM=TO)" >&2
            return 1
        fi
        if [[ $body != *"$from"* ]]; then
            echo "snippet: $name ($(snippet_where "$name")): \"$from\" does not occur; the guide changed?" >&2
            return 1
        fi
        body=${body//"$from"/"$to"}
    done
    printf '%s\n' "$body"
}

snippet_file() {
    local name=$1 file=$2 text
    shift 2
    text=$(snippet_get "$name" "$@") || return 1
    printf '%s\n' "$text" >"$file" && chmod 0644 "$file"
}

snippet_run() {
    local text
    text=$(snippet_get "$@") || return 1
    bash -euc "$text"
}

snippet_where() {
    snippet__record "$1" | cut -f 2
}

snippet_list() {
    snippet__blocks | cut -f 1-3 | tr '\t' ' '
}

# snippet__uses: "FILE NAME" for every literal use of a snippet name by a
# file outside docs/ (FILE relative to SNIPPET_TOP).
snippet__uses() {
    find "$SNIPPET_TOP" \( -name .git -o -name 'build*' -o -path "$SNIPPET_TOP/docs" -o -name subprojects \) -prune \
        -o -type f \( -name '*.sh' -o -name '*.bash' -o -name '*.lua' -o -name '*.c' \
        -o -name '*.pl' -o -name '*.py' -o -name meson.build \) -print0 |
        xargs -0 grep -HoE "(snippet_(get|file|run)|snippet\.sh +(get|file|run)) +[\"']?[a-z0-9][a-z0-9.-]*" |
        sed -E "s#^$SNIPPET_TOP/##; s/:.* +[\"']?/ /" | sort -u
}

# snippet__used: every snippet name used literally by a file outside docs/.
snippet__used() {
    snippet__uses | cut -d ' ' -f 2 | sort -u
}

# snippet__broken_links: "FILE:LINE TARGET" for every relative link, outside
# code blocks, whose target is missing (anchors and URLs are not checked).
snippet__broken_links() {
    local f dir where target
    for f in "$SNIPPET_TOP"/docs/*.md "$SNIPPET_TOP"/README.md; do
        [ -e "$f" ] || continue
        dir=$(dirname "$f")
        awk -v file="${f#"$SNIPPET_TOP"/}" '
            /^ *(```|~~~)/ { code = !code; next }
            code { next }
            {
                line = $0
                while (match(line, /\]\([^)]+\)/)) {
                    t = substr(line, RSTART + 2, RLENGTH - 3)
                    line = substr(line, RSTART + RLENGTH)
                    sub(/#.*/, "", t)
                    if (t != "" && t !~ /^[a-z]+:/) print file ":" FNR, t
                }
            }' "$f" | while read -r where target; do
            [ -e "$dir/$target" ] || echo "$where $target"
        done
    done
}

snippet_uses() {
    local uses name
    uses=$(snippet__uses)
    for name in $(snippet__blocks | cut -f 1); do
        printf '%s %s\n' "$name" "$(awk -v n="$name" '$2 == n { printf "%s ", $1 }' <<<"$uses")"
    done
}

snippet_check() {
    local problems=0 name where body used blocks dups
    blocks=$(snippet__blocks)
    used=$(snippet__used)
    if [ -z "$blocks" ]; then
        echo "no code blocks found in $SNIPPET_TOP/docs/*.md and README.md"
        return 1
    fi
    while IFS=$'\t' read -r name where _ body; do
        if [ "$body" = $'\002unterminated' ]; then
            echo "$where: code block never closed"
            problems=$((problems + 1))
        elif [ "$name" = - ]; then
            echo "$where: code block without a snippet=NAME (every block in the guides must be exercised by a test)"
            problems=$((problems + 1))
        elif ! [[ $name =~ ^[a-z0-9][a-z0-9.-]*$ ]]; then
            echo "$where: bad snippet name \"$name\" (want [a-z0-9][a-z0-9.-]*)"
            problems=$((problems + 1))
        elif ! grep -qxF -- "$name" <<<"$used"; then
            echo "$where: snippet $name is used by no test (snippet_get $name)"
            problems=$((problems + 1))
        fi
    done <<<"$blocks"
    dups=$(cut -f 1 <<<"$blocks" | grep -vx -- - | sort | uniq -d)
    for name in $dups; do
        echo "snippet $name is defined more than once: $(awk -F '\t' -v n="$name" '$1 == n { printf "%s ", $2 }' <<<"$blocks")"
        problems=$((problems + 1))
    done
    # A test asking for a name that no guide defines fails when it runs;
    # say so here too, where it is cheap.
    for name in $used; do
        if ! cut -f 1 <<<"$blocks" | grep -qxF -- "$name"; then
            echo "a test uses snippet $name, which no guide defines"
            problems=$((problems + 1))
        fi
    done
    while read -r where target; do
        echo "$where: link to $target, which does not exist"
        problems=$((problems + 1))
    done < <(snippet__broken_links)
    echo "# $(wc -l <<<"$blocks") code blocks in docs/*.md and README.md, $problems problems"
    [ "$problems" = 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    cmd=${1:-}
    shift || true
    case $cmd in
    get) snippet_get "$@" ;;
    file) snippet_file "$@" ;;
    run) snippet_run "$@" ;;
    where) snippet_where "$@" ;;
    list) snippet_list ;;
    uses) snippet_uses ;;
    check) snippet_check ;;
    *)
        echo "usage: $0 get|run NAME [FROM=TO]... | file NAME FILE [FROM=TO]... | where NAME | list | uses | check" >&2
        exit 2
        ;;
    esac
fi
