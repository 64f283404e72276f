// Voice messages: upload a WAV/MP3 file or record one, then follow it through the shared audio queue
// (place in line, estimated wait, progress) until its result arrives. Uses chat.js's bubble, countdown,
// retryAfterSeconds and apiKey.
const voiceFile = document.getElementById('voice-file');
const recordButton = document.getElementById('record');

function authHeaders() {
  return apiKey.value ? { authorization: `Bearer ${apiKey.value}` } : {};
}

async function sendVoice(audio, name) {
  bubble('user', `Voice message: ${name} (${Math.ceil(audio.size / 1024)} KB)`);
  const card = bubble('assistant voice', 'Uploading…');
  const type = audio.type || (name.toLowerCase().endsWith('.mp3') ? 'audio/mpeg' : 'audio/wav');
  for (let attempts = 1; ; attempts++) {
    const response = await fetch('/v1/audio/messages', { method: 'POST', headers: { ...authHeaders(), 'content-type': type }, body: audio });
    if (response.status === 429 && attempts <= 5) {
      await countdown(retryAfterSeconds(response.headers.get('retry-after')));
      continue;
    }
    if (response.status !== 202) {
      const problem = await response.json().catch(() => ({}));
      showFailure(card, problem.error?.message ?? `Upload failed (${response.status})`);
      return;
    }
    const message = await response.json();
    render(card, message);
    await follow(message.id, card);
    return;
  }
}

// Reads the message's Server-Sent Events (fetch, not EventSource, so the API key header can be sent).
async function follow(id, card) {
  const response = await fetch(`/v1/audio/messages/${id}/events`, { headers: authHeaders() });
  if (!response.ok) { showFailure(card, `Could not follow the message (${response.status})`); return; }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event.split('\n').find(line => line.startsWith('data: '))?.slice(6);
      if (!data) continue;
      if (event.startsWith('event: error')) { showFailure(card, JSON.parse(data).message); return; }
      render(card, JSON.parse(data));
    }
  }
  if (!['succeeded', 'failed', 'cancelled', 'dead'].includes(card.dataset.status)) {
    showFailure(card, 'Lost track of the message; reload to check on it.');
  }
}

function render(card, message) {
  card.dataset.status = message.status;
  card.replaceChildren();
  const line = document.createElement('div');
  card.append(line);
  switch (message.status) {
    case 'queued': {
      const wait = message.estimated_wait_seconds;
      if (wait === undefined) { line.textContent = `Waiting to try again${message.error ? ` (${message.error})` : ''}…`; break; }
      line.textContent = `In the queue: ${message.position === 0 ? 'next in line' : `${message.position} ahead of you`}` +
        (wait === undefined ? '' : `, about ${Math.max(1, Math.round(wait))} s to wait`);
      break;
    }
    case 'processing': {
      line.textContent = `Processing… ${Math.round(message.progress * 100)}%`;
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = message.progress;
      card.append(bar);
      break;
    }
    case 'succeeded': {
      const result = message.result ?? {};
      const segments = result.segments?.length ?? 0;
      line.textContent = `Processed: ${(result.duration_seconds ?? 0).toFixed(1)} s of audio, ` +
        `${segments} speech segment${segments === 1 ? '' : 's'}, ${Math.round((result.silence_ratio ?? 0) * 100)}% silence` +
        (result.transcript ? `\n“${result.transcript}”` : '');
      attachAudio(card, message.audio_url);
      break;
    }
    default:
      line.textContent = `Voice message ${message.status}: ${message.error ?? 'no reason given'}`;
  }
}

async function attachAudio(card, url) {
  if (!url || card.dataset.audio === url) return;
  card.dataset.audio = url; // one player per card, however many times the card is drawn
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) return;
  const player = document.createElement('audio');
  player.controls = true;
  player.src = URL.createObjectURL(await response.blob());
  card.append(player);
}

function showFailure(card, text) {
  card.className = 'message error';
  card.dataset.status = 'error';
  card.textContent = text;
}

voiceFile.addEventListener('change', async () => {
  const file = voiceFile.files[0];
  if (!file) return;
  voiceFile.value = '';
  try {
    await sendVoice(file, file.name);
  } catch (error) {
    bubble('error', `Could not send the voice message: ${error.message}`);
  }
});

// Recording: the microphone's samples are collected and written as a 16 kHz 16-bit mono WAV, because the
// browser's own recorder (MediaRecorder) produces WebM/Ogg, which the queue's worker does not decode.
let recording = null;
recordButton.addEventListener('click', async () => {
  if (recording) {
    const { context, stream, chunks } = recording;
    recording = null;
    recordButton.textContent = 'Record';
    recordButton.classList.remove('recording');
    stream.getTracks().forEach(track => track.stop());
    await context.close();
    try {
      await sendVoice(new Blob([encodeWav(downsample(chunks, context.sampleRate, 16000), 16000)], { type: 'audio/wav' }), 'recording.wav');
    } catch (error) {
      bubble('error', `Could not send the recording: ${error.message}`);
    }
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const context = new AudioContext();
    const source = context.createMediaStreamSource(stream);
    // ScriptProcessorNode is deprecated but needs no separate worklet module; it is enough for a voice note.
    const processor = context.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    processor.onaudioprocess = event => chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)));
    source.connect(processor);
    processor.connect(context.destination);
    recording = { context, stream, chunks };
    recordButton.textContent = 'Stop and send';
    recordButton.classList.add('recording');
  } catch (error) {
    bubble('error', `Cannot record: ${error.message}`);
  }
});

// 16 kHz is what the queue's worker produces anyway, and it keeps five minutes under the 10 MiB limit
// (a 48 kHz recording would pass it in under two). Each output sample averages the input samples it covers.
function downsample(chunks, fromRate, toRate) {
  const input = new Float32Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) { input.set(chunk, offset); offset += chunk.length; }
  if (fromRate <= toRate) return input;
  const ratio = fromRate / toRate;
  const output = new Float32Array(Math.floor(input.length / ratio));
  for (let i = 0; i < output.length; i++) {
    const start = Math.floor(i * ratio), end = Math.min(input.length, Math.floor((i + 1) * ratio));
    let sum = 0;
    for (let j = start; j < end; j++) sum += input[j];
    output[i] = sum / Math.max(1, end - start);
  }
  return output;
}

function encodeWav(samples, sampleRate) {
  const length = samples.length;
  const view = new DataView(new ArrayBuffer(44 + length * 2));
  const text = (offset, value) => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, 'RIFF'); view.setUint32(4, 36 + length * 2, true); text(8, 'WAVE');
  text(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true); view.setUint32(28, sampleRate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, 'data'); view.setUint32(40, length * 2, true);
  let offset = 44;
  for (const sample of samples) {
    view.setInt16(offset, Math.max(-1, Math.min(1, sample)) * 0x7fff, true);
    offset += 2;
  }
  return view.buffer;
}
