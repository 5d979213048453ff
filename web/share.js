// Settings in the page's address: every field of the training form after '#', kept in step with
// the form (history.replaceState); opening such a link fills the form and says what it changed;
// "Copy link". The worker checks a link's settings with the form's own check (pynet/page/link.py),
// so a bad value gets the form's sentence and changes nothing.
//
// After '#' rather than '?': a fragment never leaves the browser (the page promises that nothing
// does), never asks the server or the service worker for anything, and paths stay relative (the
// site lives under a sub-path).

import { WorkerRestarted } from './client.js';
import { settings } from './settings.js';
import { RUN_STATES } from './training.js';
import * as ui from './ui.js';

const { dom } = ui;

// a value in a link: percent-encoded, but the characters of a network spec that a fragment may
// hold as they are (a space as '+', ',' '@' ':' '/') stay readable
const encode = (value) => encodeURIComponent(value).replace(/%20/g, '+').replace(/%2C/g, ',').replace(/%40/g, '@')
  .replace(/%3A/g, ':').replace(/%2F/g, '/');

// The text after '#' of a link to these form values: every field, in the form's order.
export function linkText(values) {
  return Object.keys(ui.FIELDS).map((key) => `${key}=${encode(values[key] ?? '')}`).join('&');
}

// How the note names a field and its value: the form's own label and, for a menu, the option's text.
function describeField(key) {
  const el = ui.FIELDS[key];
  const label = el.labels?.[0];
  const name = (label?.firstChild?.textContent || key).trim();
  const value = el.tagName === 'SELECT' ? el.selectedOptions[0]?.textContent ?? el.value : el.value.trim();
  // a network's layers are a list of their own: quoted, so that its commas do not run into the note's
  return `${name.charAt(0).toLowerCase()}${name.slice(1)} ${key === 'network' ? `“${value}”` : value}`;
}

// app: the page's state (window.pynet): its state, and app.link, what the last link did (for the tests).
export function createShare(client, app) {
  let following = false; // the address follows the form once the link it was opened with is read
  let followed = null; // the form's link when the address last followed it
  app.link = { asked: 0, answered: 0, changed: null, refused: null };

  const base = () => `${location.origin}${location.pathname}${location.search}`;
  const linkUrl = () => `${base()}#${linkText(ui.readForm())}`;

  // The address shows the form's settings once they change (a link put in the address stays until
  // then, to be put right there when refused); none while the form holds the default preset as it is.
  // force: follow the form even if its settings are those followed last (a link was just applied).
  function follow(force = false) {
    if (!following || (!force && linkText(ui.readForm()) === followed)) return;
    followed = linkText(ui.readForm());
    const url = dom.preset.value === settings.default_preset ? base() : linkUrl();
    if (url !== location.href) history.replaceState(history.state, '', url);
  }
  dom.form.addEventListener('input', () => follow());
  dom.form.addEventListener('change', () => follow());

  // Check a link's settings (text: after '#') in the worker and fill the form with them; who: how
  // the note names where they came from. Resolves with the fields changed, or null if refused.
  async function open(text, who = 'The link') {
    const asked = ++app.link.asked;
    const answered = (what) => {
      if (asked === app.link.asked) Object.assign(app.link, what, { answered: asked });
      return what.changed ?? null;
    };
    const refuse = (message, field = null) => {
      ui.formMessage(`${who === 'The link' ? 'The link was' : `${who}'s settings were`} not applied: ${message}.`, 'error');
      return answered({ changed: null, refused: { message, field } });
    };
    const running = () => RUN_STATES.includes(app.state);
    if (running()) return refuse('a run is in progress; open it again once the run has ended');
    let reading;
    try {
      reading = await client.request('readLink', { text });
    } catch (e) {
      if (e instanceof WorkerRestarted) return answered({ changed: null, refused: null });
      return refuse(e.message, e.field ?? null);
    }
    if (asked !== app.link.asked) return null; // a later link came first: its answer counts
    if (running()) return refuse('a run started first; open it again once the run has ended');
    if (reading == null) return answered({ changed: null, refused: null }); // a place in the page, not settings
    const before = ui.readForm();
    const presetBefore = dom.preset.value;
    // the form's own paths: choosing the preset fills it, an edit finds the preset the values match
    // and describes the network (web/form.js)
    following = false;
    dom.preset.value = reading.preset;
    dom.preset.dispatchEvent(new Event('change', { bubbles: true }));
    ui.fillForm(reading.given);
    dom.network.dispatchEvent(new Event('input', { bubbles: true }));
    following = true;
    follow(true);
    const after = ui.readForm();
    const changed = Object.keys(ui.FIELDS).filter((key) => after[key] !== before[key]);
    const preset = settings.preset_menu.find(([name]) => name === dom.preset.value);
    const what = preset && dom.preset.value !== presetBefore ? `the preset ${preset[1]}`
      : changed.map(describeField).join(', ');
    ui.formMessage(changed.length ? `${who} set: ${what}.` : `${who} gave the settings the form already had.`, 'ok');
    return answered({ changed, refused: null });
  }

  // "Copy link": the clipboard, or where the browser offers none (an insecure page, a refusal), the
  // link selected in a field of its own for the user to copy.
  dom.copyLink.addEventListener('click', async () => {
    const url = linkUrl();
    try {
      if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
      await navigator.clipboard.writeText(url);
      dom.linkField.hidden = true;
      dom.shareNote.textContent = 'Link copied: it opens the page with these settings.';
    } catch {
      dom.linkField.value = url;
      dom.linkField.hidden = false;
      dom.linkField.focus();
      dom.linkField.select();
      dom.shareNote.textContent = 'This browser gives the page no clipboard: copy the link selected below.';
    }
  });

  // a link pasted into the address of the open page changes only what follows '#'
  window.addEventListener('hashchange', (event) => {
    if (app.ready) open(new URL(event.newURL).hash.slice(1));
  });

  return {
    // the worker is ready: read the link the page was opened with, then follow the form
    async start() {
      followed = linkText(ui.readForm());
      const opened = location.hash.slice(1); // nothing has written the address yet
      if (opened) await open(opened);
      following = true;
    },
    // fill the form with a run's settings (web/history.js), by the same check as a link
    apply: (values, who) => open(linkText(values), who),
  };
}
