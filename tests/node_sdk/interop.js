'use strict';
/**
 * Drives the official LicenseSpring Node SDK (npm `@licensespring/node-sdk`) against a server,
 * exactly as an application does, and prints what happened as one JSON line on stdout. Used by
 * tests/node_sdk.rs; the SDK is the one scripts/node-sdk.sh installs (its node_modules in
 * NODE_PATH).
 *
 *   node interop.js --url http://127.0.0.1:PORT --public-key fixtures/keys/reference-public.pem \
 *       --api-key K --shared-key S --product TP --license-key L --hardware-id H --hostname N \
 *       --mode roundtrip
 *
 * Modes:
 *   roundtrip        LicenseAPI: createOfflineActivationPayload -> activateOffline (the SDK posts the
 *                    file and verifies license_signature and license_signature_v2 with the pinned
 *                    key) -> createOfflineDeactivationPayload -> deactivateOffline.
 *   wrong-file-key   the request file is made by a client holding a wrong shared key ("wrong-" + the
 *                    shared key), then posted by a client holding the right one (so the
 *                    Authorization header is right and only the file's MAC is wrong).
 *   file-request     LicenseManager, the air-gapped flow's first half: the activation request file
 *                    the application writes for the user to carry to the portal (nothing is sent).
 *   file-activate    the second half: --answer-file holds the license file the portal gave back
 *                    (Base64 of the answer); LicenseManager.activateOffline verifies it, then
 *                    License.deactivateOffline writes deactivate_offline.req into --dir, whose text
 *                    is printed (nothing is sent: the test carries it to the server).
 *
 * The output lists every HTTP exchange the SDK made ("http": path, status, the Content-Type it
 * sent), observed through an axios interceptor on the instance the SDK uses; and how many times
 * the SDK's own license_signature (v1) and license_signature_v2 checks passed, counted by wrapping
 * them (they still run and throw as before).
 *
 * Exit status 0 when every SDK call returned; otherwise 1, with {"error": {...}} (and whatever was
 * done before) on stdout. 2 for bad usage.
 */

const fs = require('node:fs');
const path = require('node:path');

function usage(message) {
  process.stderr.write(`interop.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const names = ['url', 'public-key', 'api-key', 'shared-key', 'product', 'license-key',
    'hardware-id', 'hostname', 'mode', 'answer-file', 'dir'];
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!names.includes(name) || i + 1 >= argv.length) usage(`unknown or incomplete option ${argv[i]}`);
    args[name] = argv[i + 1];
  }
  for (const required of names.slice(0, 9)) {
    if (args[required] === undefined) usage(`--${required} is required`);
  }
  const modes = ['roundtrip', 'wrong-file-key', 'file-request', 'file-activate'];
  if (!modes.includes(args.mode)) usage(`--mode must be one of ${modes.join(', ')}`);
  if (args.mode === 'file-activate' && (!args['answer-file'] || !args.dir)) {
    usage('--mode file-activate needs --answer-file and --dir');
  }
  const url = new URL(args.url);
  if (!['http:', 'https:'].includes(url.protocol) || !['', '/'].includes(url.pathname)) {
    usage(`--url must be scheme://host:port, got ${args.url}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const out = { http: [], license_signature_verified: 0, license_signature_v2_verified: 0 };

// The SDK reads its configuration's defaults from an env file beside it and warns on stderr
// when there is none; everything it needs is passed explicitly below.
const sdk = require('@licensespring/node-sdk');
const common = require('@licensespring/node-sdk/dist/src/common');
const axios = require('axios');
out.sdk_version = require('@licensespring/node-sdk/package.json').version;

// The SDK calls common_1.checkSignatureV1/V2 through the module's exports at each call, so these
// wrappers see every check; they count only the checks that passed.
for (const [name, counter] of [
  ['checkSignatureV1', 'license_signature_verified'],
  ['checkSignatureV2', 'license_signature_v2_verified'],
]) {
  const inner = common[name];
  common[name] = (...a) => {
    const result = inner(...a);
    out[counter] += 1;
    return result;
  };
}

function note(response) {
  out.http.push({
    path: new URL(response.config.url).pathname,
    status: response.status,
    content_type_sent: response.config.headers['Content-Type'] ?? null,
  });
}
axios.interceptors.response.use(
  (response) => {
    note(response);
    return response;
  },
  (error) => {
    if (error.response) note(error.response);
    return Promise.reject(error);
  },
);

const publicKey = fs.readFileSync(args['public-key'], 'utf8');
const apiPath = `${args.url.replace(/\/+$/, '')}/api/v4`;

function licenseAPI(sharedKey) {
  return new sdk.LicenseAPI({
    apiKey: args['api-key'],
    sharedKey,
    apiPath,
    publicKey,
    appName: 'lsconform-interop',
    appVersion: '1.0.0',
    hardwareID: args['hardware-id'],
  });
}

function licenseManager(dir) {
  return new sdk.LicenseManager({
    apiKey: args['api-key'],
    sharedKey: args['shared-key'],
    productCode: args.product,
    apiPath,
    publicKey,
    appName: 'lsconform-interop',
    appVersion: '1.0.0',
    hardwareID: args['hardware-id'],
    filePath: dir,
    filename: 'license',
    fileKey: 'lsconform-interop-file-key',
  });
}

// The members an application passes, in the order the Rust side rebuilds them
// (RequestBuilder's Style::JavaScript); the SDK appends its own after them.
function identity() {
  return {
    hardware_id: args['hardware-id'],
    license_key: args['license-key'],
    product: args.product,
    hostname: args.hostname,
  };
}

async function run() {
  const api = licenseAPI(args['shared-key']);
  switch (args.mode) {
    case 'roundtrip':
    case 'wrong-file-key': {
      let maker = api;
      if (args.mode === 'wrong-file-key') {
        out.file_shared_key = `wrong-${args['shared-key']}`;
        maker = licenseAPI(out.file_shared_key);
      }
      out.step = 'createOfflineActivationPayload';
      out.activation_request = maker.createOfflineActivationPayload(identity());
      out.step = 'activateOffline';
      out.answer = await api.activateOffline(out.activation_request);
      out.step = 'createOfflineDeactivationPayload';
      out.deactivation_request = api.createOfflineDeactivationPayload(identity());
      out.step = 'deactivateOffline';
      out.deactivation_answer = await api.deactivateOffline(out.deactivation_request);
      break;
    }
    case 'file-request': {
      const manager = licenseManager(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'ls-node-')));
      out.step = 'LicenseManager.createOfflineActivationPayload';
      out.activation_request = manager.createOfflineActivationPayload({
        license_key: args['license-key'],
        hostname: args.hostname,
      });
      break;
    }
    case 'file-activate': {
      const manager = licenseManager(args.dir);
      out.step = 'LicenseManager.activateOffline';
      out.answer = manager.activateOffline(fs.readFileSync(args['answer-file'], 'utf8'));
      out.step = 'License.deactivateOffline';
      const license = manager.loadLicense();
      await license.deactivateOffline(args.dir);
      out.deactivation_request = fs.readFileSync(path.join(args.dir, 'deactivate_offline.req'), 'utf8');
      break;
    }
    default:
      usage(`unknown mode ${args.mode}`);
  }
  delete out.step;
}

// A server that hangs must fail the run, not the test's backstop.
axios.defaults.timeout = 60000;

run().then(
  () => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exit(0);
  },
  (e) => {
    // The SDK throws the server's error body ({status, code, message}) for an HTTP error, its own
    // {status, code, message} for a failed check, and Error objects otherwise.
    const error = { step: out.step ?? null };
    delete out.step;
    if (e instanceof Error) {
      error.type = e.constructor.name;
      error.text = e.message;
    } else if (e && typeof e === 'object') {
      error.type = 'thrown object';
      Object.assign(error, { status: e.status, code: e.code, message: e.message });
    } else {
      error.type = typeof e;
      error.text = String(e);
    }
    out.error = error;
    process.stdout.write(`${JSON.stringify(out)}\n`);
    if (e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
