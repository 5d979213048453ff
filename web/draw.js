// A drawing canvas for digits: pointer events (mouse, pen, touch), thick round strokes.
// The ink is drawn opaque on a transparent canvas, so its alpha channel is the digit.

export function createPad(canvas, { onDraw, onEnd, lineWidth = 20, throttleMs = 100 } = {}) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let drawing = false;
  let last = null;
  let lastSent = 0;
  let timer = null;
  let empty = true;

  function style() {
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = lineWidth;
    ctx.strokeStyle = '#111';
    ctx.fillStyle = '#111';
  }
  style();

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * canvas.width,
      y: ((event.clientY - rect.top) / rect.height) * canvas.height,
    };
  }

  function dot(p) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, lineWidth / 2, 0, Math.PI * 2);
    ctx.fill();
  }

  function throttled() {
    const now = performance.now();
    if (now - lastSent >= throttleMs) {
      lastSent = now;
      onDraw?.();
    } else if (!timer) {
      timer = setTimeout(() => { timer = null; lastSent = performance.now(); if (drawing) onDraw?.(); }, throttleMs - (now - lastSent));
    }
  }

  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 && event.pointerType === 'mouse') return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    empty = false;
    last = point(event);
    dot(last);
    throttled();
  });

  canvas.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    for (const e of events.length ? events : [event]) {
      const p = point(e);
      ctx.lineTo(p.x, p.y);
      last = p;
    }
    ctx.stroke();
    throttled();
  });

  function end(event) {
    if (!drawing) return;
    drawing = false;
    if (canvas.hasPointerCapture?.(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
    clearTimeout(timer);
    timer = null;
    onEnd?.();
  }
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  return {
    clear() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      empty = true;
    },
    isEmpty: () => empty,
    // Paint a 28x28 image (784 values, 0..255) over the whole pad, as ink.
    putImage(values) {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      const cw = canvas.width / 28;
      const ch = canvas.height / 28;
      for (let i = 0; i < 784; i++) {
        if (!values[i]) continue;
        ctx.globalAlpha = Math.min(1, values[i] / 255);
        ctx.fillRect((i % 28) * cw, Math.floor(i / 28) * ch, cw, ch);
      }
      ctx.globalAlpha = 1;
      empty = false;
    },
    pixels() {
      const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      return { pixels: image.data, width: image.width, height: image.height };
    },
  };
}
