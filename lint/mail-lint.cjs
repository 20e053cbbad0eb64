// The mail lint behind `templates check --lint` (and so .ci/lint-mail.sh): the rendered sample
// mails against caniemail's data (through @jsx-email/doiuse-email) for the clients most readers
// use, and against html-validate's accessibility rules. The host renders the samples and pipes
// them in as JSON on stdin: { modules, exceptionsName, exceptionsText, samples: [{ name, html }] }.
// Exit 0: clean; 1: findings (one line each on stdout); 3: the packages are missing; 2: anything else.
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');

// Gmail, Outlook (Windows, its Mail app, macOS, outlook.com, the phone apps), Apple Mail, Yahoo.
// doiuse-email 1.0.4 knows outlook.com's data but not its name, so clients are checked one by one.
const CLIENTS = [
  'gmail.desktop-webmail', 'gmail.ios', 'gmail.android', 'gmail.mobile-webmail',
  'outlook.windows', 'outlook.windows-mail', 'outlook.macos', 'outlook.outlook-com', 'outlook.ios', 'outlook.android',
  'apple-mail.macos', 'apple-mail.ios',
  'yahoo.desktop-webmail', 'yahoo.ios', 'yahoo.android',
];

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function load(modules, name) {
  try {
    return createRequire(path.join(modules, 'mail-lint.cjs'))(name);
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND') {
      process.stderr.write(`the npm package ${name} is not in ${modules}\n`);
      process.exit(3);
    }
    throw error;
  }
}

/** `FEATURE | CLIENTS | REASON` per line; CLIENTS are globs (`outlook.*`) or `*`. */
function parseExceptions(name, text, problems) {
  const exceptions = [];
  (text || '').split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split('|').map((field) => field.trim());
    if (fields.length !== 3 || fields[0] === '' || fields[1] === '' || fields[2] === '') {
      problems.push(`${name}:${index + 1}: an exception is "FEATURE | CLIENTS | REASON", each part filled in; got "${line}"`);
      return;
    }
    const clients = fields[1].split(',').map((glob) => glob.trim()).filter((glob) => glob !== '')
      .map((glob) => new RegExp('^' + glob.replace(/[.+?^${}()[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$'));
    // The feature as the lint prints it, with or without its backticks.
    exceptions.push({ line: index + 1, feature: fields[0].replace(/^`(.*)`$/, '$1'), clients, used: false });
  });
  return exceptions;
}

function accepted(exceptions, feature, client) {
  for (const exception of exceptions) {
    if (exception.feature === feature && exception.clients.some((glob) => glob.test(client))) {
      exception.used = true;
      return true;
    }
  }
  return false;
}

/** An element's inline style as property -> value (lower case), the way PreMailer leaves it. */
function styleOf(node) {
  const style = new Map();
  const text = node && node.attribs && node.attribs.style;
  for (const declaration of (text || '').split(';')) {
    const colon = declaration.indexOf(':');
    if (colon > 0) style.set(declaration.slice(0, colon).trim().toLowerCase(), declaration.slice(colon + 1).trim().toLowerCase());
  }
  return style;
}

const isZero = (value) => /^(0(px|em|rem|%)?\s*)+$/.test(value);
const BOX = /^(margin|padding|border-radius)/;

// Hidden content (a preheader) stays hidden only with all of these: display:none is ignored by
// Gmail's mobile web view, overflow/max-height by Outlook for Windows (which honours mso-hide).
const HIDING = [['display', /^none/], ['max-height', /^0/], ['overflow', /^hidden/], ['mso-hide', /^all/], ['font-size', /^0/], ['line-height', /^0/], ['opacity', /^0/]];
const hiddenRobustly = (style) => HIDING.every(([property, value]) => value.test(style.get(property) || ''));

/** Does the body carry anything a reader sees? Clients that replace or drop <body> lose it. */
function bodyMatters(node) {
  const attributes = Object.keys((node && node.attribs) || {}).filter((name) => !['style', 'class', 'dir', 'lang', 'id'].includes(name));
  const styles = [...styleOf(node)].filter(([property, value]) => !(BOX.test(property) && isZero(value)));
  return attributes.length > 0 || styles.length > 0;
}

/** The partial-support notes of caniemail that say what this element or value loses; null when none applies. */
function noteApplies(note, tag, value) {
  let match;
  if (/Only supported on table cells/.test(note) && !['td', 'th'].includes(tag)) return `works only on table cells, not on <${tag}>`;
  if ((match = /Only works on (?:the )?`<(\w+)>`/.exec(note)) && tag !== match[1]) return `works only on <${match[1]}>, not on <${tag}>`;
  if ((match = /(?:Doesn't work|Not supported) on `<(\w+)>`(?: and `<(\w+)>`)?/.exec(note)) && [match[1], match[2]].includes(tag)) return `does not work on <${tag}>`;
  if (/`auto` value is not supported/.test(note) && /\bauto\b/.test(value)) return 'ignores `auto` (nothing is centred)';
  if (/Only supports `display:none`/.test(note) && value !== '' && !/^none/.test(value)) return `supports only display:none, not display:${value}`;
  if (/Only `background-color` values are supported/.test(note) && /url\(|gradient/.test(value)) return 'shows only a background colour';
  if (/Negative values are not supported/.test(note) && /(^|\s)-\d/.test(value)) return 'ignores negative values';
  if (/`rem` values are not supported/.test(note) && /\drem\b/.test(value)) return 'ignores rem values';
  return null;
}

/**
 * Whether a caniemail finding changes what a reader sees: what a client lacks entirely, unless it
 * is a zero box value or part of robust hiding; what it supports partly, only where caniemail's note
 * names this element or value; <body> only when it carries something. Returns the reason, or null.
 */
function judge(finding) {
  const { feature, level, node, declaration } = finding;
  const tag = node ? node.name : null;
  const style = node ? styleOf(node) : new Map();
  const property = declaration ? String(declaration.property).toLowerCase() : '';
  const value = declaration ? String(declaration.value).toLowerCase().trim() : '';
  if (node && hiddenRobustly(style)) return null;
  if (feature === '<body> element') return bodyMatters(node) ? 'drops or replaces <body> and its styles: put them on a full-width outer table' : null;
  if (declaration && BOX.test(property) && isZero(value)) return null;
  if (level === 'none' && node && /^none/.test(style.get('display') || '') && ['display:none', 'overflow', 'max-height', 'opacity', 'font-size', 'line-height'].includes(feature))
    return `not supported, so the hidden content shows: hide it with all of ${HIDING.map(([p, v]) => p + ':' + v.source.slice(1)).join('; ')} and a colour matching the background`;
  // A declaration of the style block is judged on the elements PreMailer inlines it into; the block's own selectors and at-rules here.
  if (!node && declaration) return null;
  if (level === 'none') return 'not supported';
  if (!node) return null;
  for (const note of finding.notes) {
    const reason = noteApplies(note, tag, value);
    if (reason !== null) return reason;
  }
  return null;
}

async function main() {
  const input = JSON.parse(await readStdin());
  const { DoIUseEmail } = load(input.modules, '@jsx-email/doiuse-email');
  const { HtmlValidate } = load(input.modules, 'html-validate');

  /**
   * doiuse-email, taught to say where: each client on its own (a client missing from one
   * feature's data skips that feature only), and every finding with its element, declaration,
   * support level and notes.
   */
  class Findings extends DoIUseEmail {
    constructor() {
      super({ emailClients: ['gmail.*'] });
      this.findings = [];
      this.node = null;
      this.declaration = null;
    }

    checkHtmlNode(node) {
      const outer = this.node;
      this.node = node;
      super.checkHtmlNode(node);
      this.node = outer;
    }

    checkCSSDeclarations(declarations) {
      for (const declaration of declarations) {
        this.declaration = declaration;
        super.checkCSSDeclarations([declaration]);
      }
      this.declaration = null;
    }

    checkFeaturesSupport(titles) {
      for (const title of [titles].flat()) {
        for (const client of CLIENTS) {
          this.emailClients = [client];
          const [errors, warnings, notes] = [this.errors.length, this.warnings.length, this.notes.length];
          try {
            super.checkFeaturesSupport(title);
          } catch (error) {
            if (!/not found on/.test(String(error && error.message))) throw error;
          }
          const level = this.errors.length > errors ? 'none' : this.warnings.length > warnings ? 'partial' : 'full';
          if (level !== 'full')
            this.findings.push({
              feature: title, client, level, node: this.node, declaration: this.declaration,
              notes: this.notes.slice(notes).map((note) => note.replace(/^Note about `.*?` support for `.*?`: /, '')),
            });
        }
      }
    }
  }

  const problems = [];
  const exceptions = parseExceptions(input.exceptionsName, input.exceptionsText, problems);
  const validator = new HtmlValidate({ root: true, elements: ['html5'], extends: ['html-validate:a11y'] });
  let harmless = 0;
  let excepted = 0;

  for (const sample of input.samples) {
    const checker = new Findings();
    checker.check(sample.html);
    // One line per feature and reason, with the clients and elements (a feature is found per element).
    const lines = new Map();
    for (const finding of checker.findings) {
      const reason = judge(finding);
      if (reason === null) {
        harmless++;
        continue;
      }
      if (accepted(exceptions, finding.feature, finding.client)) {
        excepted++;
        continue;
      }
      const key = finding.feature + '\u0000' + reason;
      if (!lines.has(key)) lines.set(key, { feature: finding.feature, reason, clients: new Set(), tags: new Set() });
      lines.get(key).clients.add(finding.client);
      if (finding.node) lines.get(key).tags.add(`<${finding.node.name}>`);
    }
    for (const { feature, reason, clients, tags } of lines.values())
      problems.push(`${sample.name}: \`${feature}\`${tags.size > 0 ? ' on ' + [...tags].join(', ') : ' in <style>'}: ${reason} (${[...clients].join(', ')}; caniemail)`);

    const report = await validator.validateString(sample.html);
    for (const message of report.results.flatMap((r) => r.messages)) {
      if (accepted(exceptions, `html-validate:${message.ruleId}`, '*')) {
        excepted++;
        continue;
      }
      problems.push(`${sample.name}: rendered line ${message.line}:${message.column}: ${message.message} (html-validate ${message.ruleId})`);
    }
  }

  for (const line of problems) process.stdout.write(line + '\n');
  for (const exception of exceptions.filter((e) => !e.used))
    process.stdout.write(`note: ${input.exceptionsName}:${exception.line}: the exception for \`${exception.feature}\` matched nothing; remove it if the templates no longer need it\n`);
  process.stdout.write(`Mail lint: ${input.samples.length} sample mails against caniemail (Gmail, Outlook, Apple Mail, Yahoo) and html-validate's accessibility rules: `
    + (problems.length === 0 ? 'no problems' : `${problems.length} problem(s)`)
    + ` (${excepted} findings accepted by ${input.exceptionsName}; ${harmless} that change nothing a reader sees not counted).\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`mail lint failed: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 2;
});
