#!/bin/bash
# test-snippet.sh - snippet.sh itself, on a fixture tree (suite 'unit'):
# extraction (indentation, fences of ``` and ~~~, tabs, backslashes,
# substitutions), and every problem `check` must report: a block without a
# name, a bad name, a repeated name, a name no test uses, a name a test
# uses that no guide defines, an unterminated block; and a clean tree passes.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/authgate-snippet-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0 CHECKS=0
check() { # NAME GOT WANT
    CHECKS=$((CHECKS + 1))
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
    else
        FAILS=$((FAILS + 1))
        printf 'not ok - %s\n--- got:\n%s\n--- want:\n%s\n' "$1" "$2" "$3"
    fi
}

S=$HERE/snippet.sh
# The fixture's uses are spelled through variables so that the real
# tree's check does not count them as uses of the real guides' snippets.
SG=snippet_get SR=snippet_run SF=snippet_file SC=snippet.sh
mkdir -p "$T/docs" "$T/tests/x"
tab=$'\t'
cat >"$T/docs/a.md" <<EOF
# Guide

\`\`\`ini snippet=conf-one
key = /var/lib/authgate
path = /var/lib/authgate/x
\`\`\`

1. A list item:

   ~~~sh snippet=cmd.two
   printf '%s\\n' "a\\\\b"
   ${tab}echo tabbed
   ~~~

\`\`\`\`text snippet=four-backticks
\`\`\`
inner fence kept
\`\`\`\`
EOF
cat >"$T/tests/x/test.sh" <<EOF
$SG conf-one
$SR cmd.two
tests/docs/$SC get four-backticks
EOF

got=$(SNIPPET_TOP=$T "$S" check)
check "clean tree passes" "$?:$got" "0:# 3 code blocks in docs/*.md and README.md, 0 problems"
check "list" "$(SNIPPET_TOP=$T "$S" list)" "conf-one docs/a.md:3 ini
cmd.two docs/a.md:10 sh
four-backticks docs/a.md:15 text"
check "get" "$(SNIPPET_TOP=$T "$S" get conf-one)" "key = /var/lib/authgate
path = /var/lib/authgate/x"
check "get: list indentation removed, tab and backslashes kept" "$(SNIPPET_TOP=$T "$S" get cmd.two)" \
    "printf '%s\\n' \"a\\\\b\"
${tab}echo tabbed"
check "get: a longer fence keeps shorter ones inside" "$(SNIPPET_TOP=$T "$S" get four-backticks)" \
    '```
inner fence kept'
check "get with substitutions" \
    "$(SNIPPET_TOP=$T "$S" get conf-one /var/lib/authgate=/tmp/s key=KEY)" "KEY = /tmp/s
path = /tmp/s/x"
out=$(SNIPPET_TOP=$T "$S" get conf-one /etc/nothing=/x 2>&1)
check "get: a FROM that does not occur fails" "$?:$out" \
    "1:snippet: conf-one (docs/a.md:3): \"/etc/nothing\" does not occur; the guide changed?"
out=$(SNIPPET_TOP=$T "$S" get no-such 2>&1)
check "get: unknown name fails" "$?" 1
out=$(SNIPPET_TOP=$T "$S" file conf-one "$T/out.conf" /var/lib/authgate=/s && stat -c %a "$T/out.conf" && cat "$T/out.conf")
check "file: content and mode 0644" "$out" "644
key = /s
path = /s/x"
check "run: output and status" "$(SNIPPET_TOP=$T "$S" run cmd.two 2>&1; echo "rc=$?"; SNIPPET_TOP=$T "$S" run conf-one >/dev/null 2>&1; echo "rc=$?")" \
    "a\\b
tabbed
rc=0
rc=127"
check "uses" "$(SNIPPET_TOP=$T "$S" uses)" "conf-one tests/x/test.sh 
cmd.two tests/x/test.sh 
four-backticks tests/x/test.sh "
check "where" "$(SNIPPET_TOP=$T "$S" where cmd.two)" "docs/a.md:10"

# README.md counts too.
# shellcheck disable=SC2016 # backticks of a markdown fence
printf '```sh snippet=readme-one\nx\n```\n' >"$T/README.md"
echo "$SG readme-one" >>"$T/tests/x/test.sh"
check "README.md's blocks are snippets" "$(SNIPPET_TOP=$T "$S" where readme-one)" "README.md:1"

# The authgate-query guides' form: a comment just before the fence.
cat >"$T/docs/c.md" <<'EOF'
<!-- authgate-test: by-comment -->
```
named by the comment
```

<!-- authgate-test: too-far -->

```
a blank line between: not named
```
EOF
check "a comment just before the fence names the block" "$(SNIPPET_TOP=$T "$S" get by-comment)" \
    "named by the comment"
check "a comment further up does not" "$(SNIPPET_TOP=$T "$S" list | grep -c 'too-far')" 0
rm "$T/docs/c.md"

# Every kind of problem.
cat >"$T/docs/b.md" <<'EOF'
```ini
no name
```

```sh snippet=Bad_Name
x
```

```ini snippet=conf-one
duplicate
```

```ini snippet=unused-one
nobody tests me
```

```ini snippet=never-closed
EOF
echo "$SF ghost-name \"\$f\"" >>"$T/tests/x/test.sh"
got=$(SNIPPET_TOP=$T "$S" check)
rc=$?
check "problems: exit status" "$rc" 1
check "problems: each reported" "$got" \
    "docs/b.md:1: code block without a snippet=NAME (every block in the guides must be exercised by a test)
docs/b.md:5: bad snippet name \"Bad_Name\" (want [a-z0-9][a-z0-9.-]*)
docs/b.md:13: snippet unused-one is used by no test ($SG unused-one)
docs/b.md:17: code block never closed
snippet conf-one is defined more than once: docs/a.md:3 docs/b.md:9 
a test uses snippet ghost-name, which no guide defines
# 9 code blocks in docs/*.md and README.md, 6 problems"

# Links.
printf '%s\n' 'See [a](a.md), [web](https://x.example/y.md), [anchor](#top),' \
    '[gone](gone.md#part) and [up](../tests/x/test.sh).' '```' '[in code](nothing.md)' '```' >"$T/docs/d.md"
got=$(SNIPPET_TOP=$T "$S" check)
check "a link to a missing file is a problem, others are not" "$(grep 'link to' <<<"$got")" \
    "docs/d.md:2: link to gone.md, which does not exist"
rm "$T/docs/d.md"

# Uses inside docs/ do not count.
rm "$T/docs/b.md"
sed -i '/ghost-name/d' "$T/tests/x/test.sh"
echo "$SG only-in-docs" >"$T/docs/README.txt"
cat >>"$T/docs/a.md" <<'EOF'

```ini snippet=only-in-docs
x
```
EOF
got=$(SNIPPET_TOP=$T "$S" check)
check "a use inside docs/ does not count" "$?:$got" \
    "1:docs/a.md:20: snippet only-in-docs is used by no test ($SG only-in-docs)
# 5 code blocks in docs/*.md and README.md, 1 problems"

echo "# $((CHECKS - FAILS)) passed, $FAILS failed"
[ "$FAILS" = 0 ]
