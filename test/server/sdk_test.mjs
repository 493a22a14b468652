// bitnet-server through the official OpenAI Node SDK (sdk-test.sh installs it).
//   node sdk_test.mjs BASE_URL API_KEY PATH_TO_openai/index.mjs
const [baseURL, apiKey, sdkPath] = process.argv.slice(2);
const { default: OpenAI } = await import(sdkPath);
let failed = 0;
function check(ok, what, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) {
    failed++;
    if (detail !== undefined) console.log('     ', JSON.stringify(detail).slice(0, 400));
  }
}
const show = (label, v) => console.log(`  ${label}: ${JSON.stringify(v)}`);

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60000 });

const models = await client.models.list();
show('models.list()', models.data);
check(models.data.length === 1 && models.data[0].id === 'bitnet-small', 'models.list() gives the alias');

const msgs = [{ role: 'system', content: 'You are brief.' }, { role: 'user', content: 'Hello there!' }];
const chat = await client.chat.completions.create({ model: 'bitnet-small', messages: msgs, max_tokens: 16, seed: 7 });
show('chat.completions.create()', chat);
check(chat.object === 'chat.completion' && typeof chat.choices[0].message.content === 'string'
      && ['stop', 'length'].includes(chat.choices[0].finish_reason) && chat.usage.completion_tokens <= 16,
      'chat completion', chat);

const stream = await client.chat.completions.create({ model: 'bitnet-small', messages: msgs, max_tokens: 16,
                                                      seed: 7, stream: true, stream_options: { include_usage: true } });
let text = '', chunks = 0, finish = null, usage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.choices.length) {
    text += chunk.choices[0].delta.content ?? '';
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  if (chunk.usage) usage = chunk.usage;
}
show('streamed text', text);
show('streamed finish_reason, usage', [finish, usage]);
check(chunks >= 2 && text === chat.choices[0].message.content && finish === chat.choices[0].finish_reason
      && usage && usage.completion_tokens === chat.usage.completion_tokens,
      `streaming (${chunks} chunks): the same text, finish_reason and usage as the whole answer`);

const cmpl = await client.completions.create({ model: 'bitnet-small', prompt: 'Once upon a time', max_tokens: 12, seed: 3 });
show('completions.create()', cmpl);
check(cmpl.object === 'text_completion' && typeof cmpl.choices[0].text === 'string'
      && cmpl.usage.completion_tokens <= 12, 'completion', cmpl);

try {
  const bad = new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 });
  await bad.models.list();
  check(false, 'a wrong key is rejected');
} catch (e) {
  show('with a wrong key', { status: e.status, error: e.error });
  check(e instanceof OpenAI.AuthenticationError && e.status === 401, 'a wrong key is rejected (401, AuthenticationError)');
}
try {
  await client.chat.completions.create({ model: 'bitnet-small', messages: msgs, temperature: 9 });
  check(false, 'a bad field is rejected');
} catch (e) {
  show('temperature 9', { status: e.status, error: e.error });
  check(e instanceof OpenAI.BadRequestError && e.error.param === 'temperature', 'a bad field: 400 naming it');
}
console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(failed ? 1 : 0);
