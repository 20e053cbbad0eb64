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

async function main() {
  const input = JSON.parse(await readStdin());
  const { DoIUseEmail } = load(input.modules, '@jsx-email/doiuse-email');
  const { HtmlValidate } = load(input.modules, 'html-validate');

  /** Checks every client on its own, so that a client missing from one feature's data skips that feature only. */
  class EachClient extends DoIUseEmail {
    constructor() {
      super({ emailClients: ['gmail.*'] });
      this.everyClient = CLIENTS;
    }

    checkFeaturesSupport(titles) {
      const everyClient = this.everyClient;
      for (const title of [titles].flat()) {
        for (const client of everyClient) {
          this.emailClients = [client];
          try {
            super.checkFeaturesSupport(title);
          } catch (error) {
            if (!/not found on/.test(String(error && error.message))) throw error;
          }
        }
      }
      this.emailClients = everyClient;
    }
  }

  const problems = [];
  const exceptions = parseExceptions(input.exceptionsName, input.exceptionsText, problems);
  const validator = new HtmlValidate({ root: true, elements: ['html5'], extends: ['html-validate:a11y'] });
  let partial = 0;
  let excepted = 0;

  for (const sample of input.samples) {
    const result = new EachClient().check(sample.html);
    partial += new Set(result.warnings).size;
    // One line per feature, with the clients that do not support it (a feature is reported per element).
    const unsupported = new Map();
    for (const error of new Set(result.errors || [])) {
      const match = /^`(.+)` is not supported by `(.+)`$/.exec(error);
      const [feature, client] = match ? [match[1], match[2]] : [error, ''];
      if (accepted(exceptions, feature, client)) {
        excepted++;
        continue;
      }
      if (!unsupported.has(feature)) unsupported.set(feature, []);
      if (client !== '') unsupported.get(feature).push(client);
    }
    for (const [feature, clients] of unsupported)
      problems.push(`${sample.name}: \`${feature}\` is not supported by ${clients.join(', ')} (caniemail)`);

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
    + ` (${excepted} accepted in ${input.exceptionsName}; ${partial} partly supported features not counted).\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`mail lint failed: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 2;
});
