#!/bin/sh
# bitnet-cli end to end on synthetic models: text out, determinism, chat over
# a pipe (the KV cache keeps the history), exit statuses and messages.
# Synthetic weights give random-looking text: structure is tested, not meaning.
# Usage: check_cli.sh BITNET_CLI BITNET_MKMODEL OUTDIR SOURCE_ROOT
set -u
cli=$1
mkmodel=$2
dir=$3/cli-test.$$
srcroot=$4
# cross builds: meson passes the exe_wrapper (qemu-aarch64) that runs the built programs
wrap=${MESON_EXE_WRAPPER:-}
mkdir -p "$dir" || exit 1
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/common.sh"

model=$dir/small-i2_s.gguf
$wrap "$mkmodel" --shape small --type i2_s -o "$model" >/dev/null 2>&1 || { echo "cannot make a model"; exit 1; }
# arch "bitnet" (1bitLLM): no built-in chat template fits its small vocabulary
$wrap "$mkmodel" --shape small --type f32 -o "$dir/small-f32.gguf" >/dev/null 2>&1 || exit 1
$wrap "$mkmodel" --shape small --type f32 --n-vocab 1100 -o "$dir/small-f32-v.gguf" >/dev/null 2>&1 || exit 1
echo "hello, this is not a model" > "$dir/text.gguf"
# the same file with another architecture name (same length, every key follows)
LC_ALL=C sed 's/bitnet-b1\.58/bitnet-q1.58/g' "$model" > "$dir/badarch.gguf"
cmp -s "$model" "$dir/badarch.gguf" && { echo "cannot patch the architecture"; exit 1; }

# run NAME ARGS...: runs the CLI, keeping stdout, stderr and the status.
run() {
    name=$1
    shift
    $wrap "$cli" "$@" >"$dir/$name.out" 2>"$dir/$name.err"
    echo $? >"$dir/$name.status"
    # messages end their lines with CR LF on Windows
    tr -d '\r' <"$dir/$name.err" >"$dir/$name.lf" && mv "$dir/$name.lf" "$dir/$name.err"
}
status() { cat "$dir/$1.status"; }

# expect STATUS MESSAGE_PART ARGS...: exit status and a part of stderr.
expect() {
    want=$1 part=$2
    shift 2
    run expect "$@"
    got=$(status expect)
    if [ "$got" -ne "$want" ]; then
        fail "$*: exit status $got, expected $want"; cat "$dir/expect.err"
    elif [ -n "$part" ] && ! grep -q -e "$part" "$dir/expect.err"; then
        fail "$*: stderr lacks '$part':"; cat "$dir/expect.err"
    else
        ok "$* -> $got"
    fi
}

# summary NAME FIELD: a number of the one-line summary (prompt or generated).
summary() {
    sed -n "s/.*$2 \([0-9]*\) tokens.*/\1/p" "$dir/$1.err" | tail -n 1
}

valid_utf8() {
    if command -v iconv >/dev/null 2>&1; then
        iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1
    fi
}

# ---- help, version, usage errors (2) ---------------------------------------
run help --help
if [ "$(status help)" -eq 0 ] && grep -q "^Usage: bitnet-cli" "$dir/help.out" \
   && grep -q -e "--chat" "$dir/help.out" && [ ! -s "$dir/help.err" ]; then
    ok "--help"
else
    fail "--help"
fi
run version --version
if [ "$(status version)" -eq 0 ] && grep -q "^bitnet-cli (libbitnet) [0-9]" "$dir/version.out"; then
    ok "--version"
else
    fail "--version"
fi
expect 2 "no prompt" -m "$model"
expect 2 "unknown option" -m "$model" -p hi --no-such-option
expect 2 "needs a value" -m "$model" -p
expect 2 "integer" -m "$model" -p hi -n many
expect 2 "^bitnet-cli: -n: needs an integer" -m "$model" -p hi -n -2
expect 2 "from 0 to 1" -m "$model" -p hi --top-p 1.5
expect 2 "at least" -m "$model" -p hi --temp -1
expect 2 "non-negative" -m "$model" -p hi --seed -3
expect 2 "unexpected argument" -m "$model" -p hi extra
expect 2 "use one" -m "$model" -p hi -f "$dir/prompt.txt"
expect 2 "needs --chat" -m "$model" -p hi --system "be brief"
expect 2 "Try 'bitnet-cli --help'" -m "$model" -x
expect 2 "no drafts to make" -m "$model" -p hi --draft 0 --draft-model "$model"
expect 1 "not the same vocabulary" -m "$model" -p hi --draft-model "$dir/small-f32-v.gguf"

# ---- files that do not load (1) ----------------------------------------------
expect 1 "cannot open" -m "$dir/missing.gguf" -p hi
expect 1 "not a GGUF file" -m "$dir/text.gguf" -p hi
expect 1 "architecture 'bitnet-q1.58' is not supported" -m "$dir/badarch.gguf" -p hi
expect 1 "cannot read the prompt file .*missing.txt: No such file" -m "$model" -f "$dir/missing.txt"
if [ ! -e "$srcroot/models/default.gguf" ]; then
    expect 1 "pass one with -m" -p hi
fi

# ---- generation -------------------------------------------------------------------
common="-m $model -t 2"
run gen1 $common -p "Once upon a time" -n 24 --seed 7
run gen2 $common -p "Once upon a time" -n 24 --seed 7
run gen3 $common -p "Once upon a time" -n 24 --seed 8
if [ "$(status gen1)" -ne 0 ]; then
    fail "generation: status $(status gen1)"; cat "$dir/gen1.err"
elif [ ! -s "$dir/gen1.out" ]; then
    fail "generation: no text"
elif ! grep -q "^bitnet-cli: prompt [0-9]* tokens, [0-9.]* tok/s; generated [0-9]* tokens, [0-9.]* tok/s; load [0-9]* ms$" "$dir/gen1.err"; then
    fail "generation: no summary line"; cat "$dir/gen1.err"
elif [ "$(wc -l <"$dir/gen1.err")" -ne 1 ]; then
    fail "generation: stderr holds more than the summary"; cat "$dir/gen1.err"
elif [ "$(summary gen1 generated)" -gt 24 ] || [ "$(summary gen1 prompt)" -lt 2 ]; then
    fail "generation: token counts"; cat "$dir/gen1.err"
elif ! cmp -s "$dir/gen1.out" "$dir/gen2.out"; then
    fail "generation: the same seed gave different text"
elif cmp -s "$dir/gen1.out" "$dir/gen3.out"; then
    fail "generation: another seed gave the same text"
elif ! valid_utf8 "$dir/gen1.out"; then
    fail "generation: the text is not valid UTF-8"
else
    ok "generation: text, summary, same seed = same text"
fi

# greedy ignores the seed; one thread or two, one batch or many: same text
run greedy1 -m "$model" -t 1 -p "Once upon a time" -n 16 --temp 0 --seed 1
run greedy2 -m "$model" -t 2 -b 2 -p "Once upon a time" -n 16 --temp 0 --seed 2
if [ "$(status greedy1)" -eq 0 ] && cmp -s "$dir/greedy1.out" "$dir/greedy2.out"; then
    ok "greedy: independent of seed, threads and batch size"
else
    fail "greedy"; cat "$dir/greedy1.err" "$dir/greedy2.err"
fi

# speculative decoding (--draft): the same greedy text, on the bundled model
# with a prompt that repeats (drafts get accepted), and a chat of two turns
if [ -e "$srcroot/models/default.gguf" ]; then
    rep="In the beginning God created the heaven and the earth. And the earth was without form. In the beginning God"
    run spec0 -m "$srcroot/models/default.gguf" -t 2 -p "$rep" -n 40 --temp 0
    run spec1 -m "$srcroot/models/default.gguf" -t 2 -p "$rep" -n 40 --temp 0 --draft 6
    printf 'And God said, Let there be light\nAnd God saw the light\n' >"$dir/chat-spec.txt"
    for d in 0 5; do
        $wrap "$cli" -m "$srcroot/models/default.gguf" -t 2 --chat --chat-template bitnet-2b4t -n 30 --temp 0 \
            --draft $d <"$dir/chat-spec.txt" >"$dir/chat-spec$d.out" 2>"$dir/chat-spec$d.err"
    done
    if [ "$(status spec1)" -eq 0 ] && [ -s "$dir/spec0.out" ] && cmp -s "$dir/spec0.out" "$dir/spec1.out" \
       && [ -s "$dir/chat-spec0.out" ] && cmp -s "$dir/chat-spec0.out" "$dir/chat-spec5.out"; then
        ok "--draft: the same greedy text and chat"
    else
        fail "--draft"; cat "$dir/spec1.err" "$dir/chat-spec5.err"
    fi
    # a draft model (the same model drafting for itself): the same text and
    # chat; one of another vocabulary is refused
    run spec2 -m "$srcroot/models/default.gguf" -t 2 -p "$rep" -n 40 --temp 0 --draft-model "$srcroot/models/default.gguf"
    $wrap "$cli" -m "$srcroot/models/default.gguf" -t 2 --chat --chat-template bitnet-2b4t -n 30 --temp 0 \
        --draft-model "$srcroot/models/default.gguf" <"$dir/chat-spec.txt" >"$dir/chat-spec-m.out" 2>"$dir/chat-spec-m.err"
    if [ "$(status spec2)" -eq 0 ] && cmp -s "$dir/spec0.out" "$dir/spec2.out" \
       && cmp -s "$dir/chat-spec0.out" "$dir/chat-spec-m.out"; then
        ok "--draft-model: the same greedy text and chat"
    else
        fail "--draft-model"; cat "$dir/spec2.err" "$dir/chat-spec-m.err"
    fi
fi

# -f reads the prompt from a file, - from standard input
printf 'Once upon a time' >"$dir/prompt.txt"
run file1 $common -f "$dir/prompt.txt" -n 24 --seed 7
$wrap "$cli" $common -f - -n 24 --seed 7 <"$dir/prompt.txt" >"$dir/file2.out" 2>"$dir/file2.err"
if [ "$(status file1)" -eq 0 ] && cmp -s "$dir/gen1.out" "$dir/file1.out" \
   && cmp -s "$dir/gen1.out" "$dir/file2.out"; then
    ok "-f FILE and -f -"
else
    fail "-f"; cat "$dir/file1.err" "$dir/file2.err"
fi

# a full context stops generation with a note; a prompt too long is an error
run full $common -p "Once upon a time" -c 32 --temp 0
if [ "$(status full)" -eq 0 ] && grep -q "context is full (32 tokens)" "$dir/full.err" \
   && [ "$(( $(summary full prompt) + $(summary full generated) ))" -eq 33 ]; then
    ok "full context: note, exit 0"
else
    fail "full context"; cat "$dir/full.err"
fi
expect 1 "does not fit" $common -p "Once upon a time there was a very long prompt" -c 4

# End of generation: with flat sampling an EOS/EOT token comes within a few
# hundred tokens for most seeds; generation must end there, before -n.
$wrap "$mkmodel" --shape small --type i2_s --n-layer 1 -o "$dir/tiny.gguf" >/dev/null 2>&1 || exit 1
flat="-m $dir/tiny.gguf -t 2 -n 300 --temp 5 --top-k 0 --top-p 1 --min-p 0"
found=
for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
    run eog $flat -p "Hi" --seed $seed
    if [ "$(status eog)" -eq 0 ] && [ "$(summary eog generated)" -lt 300 ]; then
        found=$seed
        break
    fi
done
if [ -n "$found" ] && ! grep -q "context is full" "$dir/eog.err"; then
    ok "end of generation before -n (seed $found, $(summary eog generated) tokens)"
else
    fail "no generation ended by an end-of-generation token"; cat "$dir/eog.err"
fi
found=
for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
    printf 'Hi\nHi\n' | $wrap "$cli" $flat --chat --seed $seed >"$dir/eogchat.out" 2>"$dir/eogchat.err"
    if [ $? -eq 0 ] && [ "$(summary eogchat generated)" -lt 600 ]; then
        found=$seed
        break
    fi
done
if [ -n "$found" ]; then
    ok "chat: an answer ended by end of turn, the chat went on (seed $found)"
else
    fail "chat: no answer ended by an end-of-generation token"; cat "$dir/eogchat.err"
fi

# ---- chat over a pipe ----------------------------------------------------------------
chat() {
    name=$1 input=$2
    shift 2
    printf "$input" | $wrap "$cli" $common --chat -n 12 --seed 3 "$@" >"$dir/$name.out" 2>"$dir/$name.err"
    echo $? >"$dir/$name.status"
}
chat chat1 'Hello\n'
chat chat2 'Hello\n\nHello\n'
chat chat2b 'Hello\nHello\n'
if [ "$(status chat2)" -ne 0 ]; then
    fail "chat: status $(status chat2)"; cat "$dir/chat2.err"
elif ! cmp -s "$dir/chat2.out" "$dir/chat2b.out"; then
    fail "chat: not deterministic (or empty lines not skipped)"
elif [ "$(summary chat2 generated)" -gt 24 ] || [ "$(summary chat2 generated)" -lt 2 ]; then
    fail "chat: generated tokens"; cat "$dir/chat2.err"
# The second turn only adds "<|eot_id|>User: Hello<|eot_id|>Assistant: ", as
# many tokens as the first turn's "<|begin_of_text|>User: Hello<|eot_id|>Assistant: ":
# re-processing the history would add the first answer and more.
elif [ "$(summary chat2 prompt)" -ne $(( 2 * $(summary chat1 prompt) )) ]; then
    fail "chat: the second turn decoded $(( $(summary chat2 prompt) - $(summary chat1 prompt) )) tokens, the first $(summary chat1 prompt)"
elif ! valid_utf8 "$dir/chat2.out"; then
    fail "chat: the text is not valid UTF-8"
elif ! head -c "$(wc -c <"$dir/chat1.out")" "$dir/chat2.out" | cmp -s - "$dir/chat1.out"; then
    fail "chat: the first answer changed when a second message followed"
else
    ok "chat: two turns over a pipe, only new text decoded"
fi
chat sys 'Hello\n' --system "You are terse."
if [ "$(status sys)" -eq 0 ] && [ "$(summary sys prompt)" -gt "$(summary chat1 prompt)" ]; then
    ok "chat: --system"
else
    fail "chat: --system"; cat "$dir/sys.err"
fi
chat first '' -p "Hello"
if [ "$(status first)" -eq 0 ] && cmp -s "$dir/first.out" "$dir/chat1.out"; then
    ok "chat: -p gives the first message"
else
    fail "chat: -p"; cat "$dir/first.err"
fi
chat llama3 'Hello\n' --chat-template llama3
if [ "$(status llama3)" -eq 0 ] && [ "$(summary llama3 prompt)" -gt "$(summary chat1 prompt)" ]; then
    ok "chat: --chat-template llama3"
else
    fail "chat: --chat-template"; cat "$dir/llama3.err"
fi
common="-m $dir/small-f32.gguf -t 2"
chat notemplate 'Hello\n'
if [ "$(status notemplate)" -eq 1 ] && grep -q -e "--chat-template" "$dir/notemplate.err"; then
    ok "chat: no template fits -> exit 1, names --chat-template"
else
    fail "chat: no template"; cat "$dir/notemplate.err"
fi
chat named 'Hello\n' --chat-template bitnet-2b4t
if [ "$(status named)" -eq 0 ]; then
    ok "chat: a named template on any model"
else
    fail "chat: named template"; cat "$dir/named.err"
fi
chat unknown 'Hello\n' --chat-template chatml
if [ "$(status unknown)" -eq 1 ] && grep -q "no built-in chat template 'chatml'" "$dir/unknown.err"; then
    ok "chat: unknown template name"
else
    fail "chat: unknown template"; cat "$dir/unknown.err"
fi

exit $failed
