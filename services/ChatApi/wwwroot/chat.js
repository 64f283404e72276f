// The chat page: streams answers from POST /v1/chat/completions (Server-Sent Events), shows whether an
// answer came from the shared cache, and waits out rate limits with a visible countdown before retrying.
const messages = document.getElementById('messages');
const statusLine = document.getElementById('status');
const form = document.getElementById('ask');
const question = document.getElementById('question');
const send = document.getElementById('send');
const apiKey = document.getElementById('api-key');

apiKey.value = localStorage.getItem('platform-api-key') ?? '';
apiKey.addEventListener('change', () => localStorage.setItem('platform-api-key', apiKey.value));

function bubble(role, text) {
  const element = document.createElement('div');
  element.className = `message ${role}`;
  element.textContent = text;
  messages.append(element);
  element.scrollIntoView({ block: 'end' });
  return element;
}

function countdown(seconds) {
  return new Promise(resolve => {
    let left = seconds;
    const tick = () => {
      if (left <= 0) { statusLine.textContent = ''; resolve(); return; }
      statusLine.textContent = `Too many requests. Retrying in ${left} s…`;
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  });
}

async function ask(text) {
  const headers = { 'content-type': 'application/json' };
  if (apiKey.value) headers.authorization = `Bearer ${apiKey.value}`;
  let attempts = 0;
  for (;;) {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers,
      body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: text }] }),
    });
    if (response.status === 429) {
      if (++attempts > 5) { bubble('error', 'Still rate limited after 5 tries; try again later.'); return; }
      await countdown(retryAfterSeconds(response.headers.get('retry-after')));
      continue;
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      bubble('error', problem.error?.message ?? `Request failed (${response.status})`);
      return;
    }
    const answer = bubble('assistant', '');
    const badge = document.createElement('span');
    badge.className = `badge ${response.headers.get('x-cache')}`;
    badge.textContent = response.headers.get('x-cache') === 'HIT' ? 'cache hit' : response.headers.get('x-cache') === 'MISS' ? 'fresh answer' : 'cache bypassed';
    badge.dataset.cache = response.headers.get('x-cache') ?? '';
    const remaining = response.headers.get('x-ratelimit-remaining');
    if (remaining !== null) statusLine.textContent = `${remaining} requests left in this window`;
    const complete = await readStream(response, piece => { answer.textContent += piece; });
    if (!complete) {
      bubble('error', 'The answer was cut off; try again.');
      return;
    }
    answer.append(badge);
    return;
  }
}

// Retry-After is seconds or an HTTP date (RFC 9110); anything else waits a second.
function retryAfterSeconds(value) {
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value ?? '');
  return Number.isNaN(date) ? 1 : Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

// Calls onPiece for each streamed piece; true when the stream ended with [DONE], false when cut off or failed.
async function readStream(response, onPiece) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return false;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: ')) continue;
      const data = event.slice(6);
      if (data === '[DONE]') return true;
      const chunk = JSON.parse(data);
      if (chunk.error) return false;
      const piece = chunk.choices?.[0]?.delta?.content;
      if (piece) onPiece(piece);
    }
  }
}

form.addEventListener('submit', async event => {
  event.preventDefault();
  const text = question.value.trim();
  if (!text) return;
  bubble('user', text);
  question.value = '';
  send.disabled = true;
  try {
    await ask(text);
  } catch (error) {
    bubble('error', `Could not reach the chat API: ${error.message}`);
  } finally {
    send.disabled = false;
  }
});

// ?debug=scaling: a live panel of rate-limit policies, cache numbers and this replica's hardware.
if (new URLSearchParams(location.search).get('debug') === 'scaling') {
  const panel = document.getElementById('debug');
  const data = document.getElementById('debug-data');
  panel.hidden = false;
  const refresh = async () => {
    const headers = apiKey.value ? { authorization: `Bearer ${apiKey.value}` } : {};
    try {
      const response = await fetch('/debug/scaling', { headers });
      data.textContent = JSON.stringify(await response.json(), null, 2);
    } catch (error) {
      data.textContent = `Could not load /debug/scaling: ${error.message}`;
    }
  };
  refresh();
  setInterval(refresh, 2000);
}
