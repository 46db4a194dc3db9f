// prtrace recorder for VS Code and its forks (Cursor, VSCodium, Windsurf, code-server).
//
// It records from VS Code's own API and hands everything to a `prtrace editor-bridge
// --stdio` child process, one JSON line per event: documents, edits, navigation and
// diagnostics LSP-shaped (the bridge feeds them to the LSP recorder: same coalescing,
// patches, hashes), integrated-terminal commands from shell integration, notes. The
// bridge applies the privacy step (opt-in, pause, redaction) and the spool; nothing is
// filtered or stored here. See docs/recorder.md, "The VS Code extension".
//
// The editor never waits for the recorder: writes go to the child's pipe without
// blocking; if the child is gone the extension says so once and records nothing more.
'use strict';

const vscode = require('vscode');
const cp = require('child_process');
const readline = require('readline');

const MAX_BACKLOG = 32 * 1024 * 1024; // bytes queued for a stalled bridge before lines are dropped
const NAV_WINDOW_MS = 15000; // a navigation must land this soon after the providers were asked
const NAVIGATION = {
  definition: 'textDocument/definition',
  declaration: 'textDocument/declaration',
  typeDefinition: 'textDocument/typeDefinition',
  implementation: 'textDocument/implementation',
};

let bridge = null; // { child, root, dead, warned, dropped }
let status = null; // the bridge's last status line
let statusItem = null;
let output = null;
let nextId = 0;
let probing = false; // our own executeXProvider calls must not be taken for the user's
let pendingNav = null; // { method, uri, position, t }

const now = () => Date.now() / 1000;
const isFile = (uri) => uri && uri.scheme === 'file';
const pos = (p) => ({ line: p.line, character: p.character });
const range = (r) => ({ start: pos(r.start), end: pos(r.end) });

function config() {
  return vscode.workspace.getConfiguration('prtrace.recorder');
}

function workspaceRoot() {
  const folders = vscode.workspace.workspaceFolders;
  return folders && folders.length && isFile(folders[0].uri) ? folders[0].uri.fsPath : null;
}

// --- the bridge -------------------------------------------------------------------------

function startBridge() {
  const root = workspaceRoot();
  if (!root || !config().get('enabled', true)) {
    showStatus();
    return;
  }
  const command = config().get('command', 'prtrace');
  const source = /cursor/i.test(vscode.env.appName) ? 'cursor' : 'vscode';
  let child;
  try {
    child = cp.spawn(command, ['editor-bridge', '--stdio', '--workspace', root, '--source', source], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
  } catch (err) {
    bridgeGone({ root, warned: false }, `could not start ${command}: ${err.message}`);
    return;
  }
  const b = { child, root, dead: false, warned: false, dropped: 0 };
  bridge = b;
  child.on('error', (err) => bridgeGone(b, `could not run ${command}: ${err.message}`));
  child.on('exit', (code, signal) => bridgeGone(b, `the recorder exited (${signal || code})`));
  child.stdin.on('error', () => bridgeGone(b, 'the recorder stopped reading'));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const msg = JSON.parse(line);
      if (msg.kind === 'status') {
        status = msg;
        showStatus();
      }
    } catch (_) {
      /* not ours */
    }
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => log(line));
  for (const doc of vscode.workspace.textDocuments) opened(doc);
  showStatus();
}

function bridgeGone(b, why) {
  if (b.dead) return;
  b.dead = true;
  log(`prtrace: ${why}`);
  if (!b.warned) {
    b.warned = true;
    vscode.window.showWarningMessage(
      `prtrace: ${why}; nothing more is recorded in this window (the editor is unaffected). ` +
        'Run "prtrace: Start recording" or reload the window to try again.'
    );
  }
  showStatus();
}

function send(obj) {
  const b = bridge;
  if (!b || b.dead) return;
  if (b.child.stdin.writableLength > MAX_BACKLOG) {
    if (b.dropped++ === 0) log('prtrace: the recorder is not keeping up; dropping events');
    return;
  }
  try {
    b.child.stdin.write(JSON.stringify(obj) + '\n'); // buffered by Node: never blocks typing
  } catch (err) {
    bridgeGone(b, `could not write to the recorder: ${err.message}`);
  }
}

function lsp(dir, message, t) {
  send({ t: t === undefined ? now() : t, dir, lsp: { jsonrpc: '2.0', ...message } });
}

// --- documents and edits: LSP-shaped, so the bridge reuses the LSP recorder --------------

function opened(doc) {
  if (!isFile(doc.uri)) return;
  lsp('c2s', {
    method: 'textDocument/didOpen',
    params: {
      textDocument: {
        uri: doc.uri.toString(),
        languageId: doc.languageId,
        version: doc.version,
        text: doc.getText(),
      },
    },
  });
}

function changed(e) {
  if (!isFile(e.document.uri) || !e.contentChanges.length) return;
  lsp('c2s', {
    method: 'textDocument/didChange',
    params: {
      textDocument: { uri: e.document.uri.toString(), version: e.document.version },
      // VS Code's ranges are UTF-16 code units, as LSP's default encoding.
      contentChanges: e.contentChanges.map((c) => ({ range: range(c.range), text: c.text })),
    },
  });
}

function saved(doc) {
  if (!isFile(doc.uri)) return;
  lsp('c2s', {
    method: 'textDocument/didSave',
    params: { textDocument: { uri: doc.uri.toString() }, text: doc.getText() },
  });
}

function closed(doc) {
  if (!isFile(doc.uri)) return;
  lsp('c2s', { method: 'textDocument/didClose', params: { textDocument: { uri: doc.uri.toString() } } });
}

function diagnosticsChanged(e) {
  for (const uri of e.uris) {
    if (!isFile(uri)) continue;
    const items = vscode.languages.getDiagnostics(uri).map((d) => ({
      range: range(d.range),
      severity: d.severity + 1, // vscode: Error = 0 … Hint = 3; LSP: 1 … 4
      message: d.message,
      source: d.source,
      code: d.code === undefined ? undefined : typeof d.code === 'object' ? d.code.value : d.code,
    }));
    lsp('s2c', { method: 'textDocument/publishDiagnostics', params: { uri: uri.toString(), diagnostics: items } });
  }
}

// --- navigation -------------------------------------------------------------------------
//
// VS Code has no event for "the user went to a definition". Every way of asking (F12,
// Ctrl+click, the context menu, Go > Go to Definition) asks all definition providers, so
// a provider of ours that returns nothing sees the request; when an editor's selection
// then moves there by a command (or another file becomes active) the navigation landed.
// The targets are what the providers answer for that position (asked again, by us).
// Ctrl+hover also asks the providers, but nothing lands, so it records nothing.

function watchNavigation(kind) {
  return {
    ['provide' + kind[0].toUpperCase() + kind.slice(1)](doc, position) {
      if (!probing && isFile(doc.uri)) {
        pendingNav = { kind, uri: doc.uri, position, t: now() };
      }
      return undefined;
    },
  };
}

const PROBE = {
  definition: 'vscode.executeDefinitionProvider',
  declaration: 'vscode.executeDeclarationProvider',
  typeDefinition: 'vscode.executeTypeDefinitionProvider',
  implementation: 'vscode.executeImplementationProvider',
};

async function probe(command, uri, position, ...rest) {
  probing = true;
  try {
    return (await vscode.commands.executeCommand(command, uri, position, ...rest)) || [];
  } catch (_) {
    return [];
  } finally {
    probing = false;
  }
}

function toLocation(loc) {
  const uri = loc.targetUri || loc.uri;
  const r = loc.targetSelectionRange || loc.targetRange || loc.range;
  return { uri: uri.toString(), range: range(r) };
}

async function landed(editor) {
  const nav = pendingNav;
  if (!nav || !editor) return;
  const t = now();
  if ((t - nav.t) * 1000 > NAV_WINDOW_MS) {
    pendingNav = null;
    return;
  }
  const here = editor.document.uri.toString() === nav.uri.toString();
  if (here && editor.selection.active.isEqual(nav.position)) return; // not moved (yet)
  pendingNav = null;
  let targets = (await probe(PROBE[nav.kind], nav.uri, nav.position)).map(toLocation);
  if (!targets.length) {
    const at = editor.selection.active;
    targets = [{ uri: editor.document.uri.toString(), range: range(new vscode.Range(at, at)) }];
  }
  const id = `vscode-${++nextId}`;
  const params = { textDocument: { uri: nav.uri.toString() }, position: pos(nav.position) };
  lsp('c2s', { id, method: NAVIGATION[nav.kind], params }, nav.t);
  lsp('s2c', { id, result: targets }, t);
}

function selectionChanged(e) {
  if (!pendingNav) return;
  if (e.kind === vscode.TextEditorSelectionChangeKind.Keyboard) {
    pendingNav = null; // the user moved on by typing: the request did not lead anywhere
    return;
  }
  if (e.kind === vscode.TextEditorSelectionChangeKind.Mouse) return; // the Ctrl+click itself
  landed(e.textEditor);
}

function activeEditorChanged(editor) {
  if (pendingNav && editor && editor.document.uri.toString() !== pendingNav.uri.toString()) landed(editor);
}

// References are only asked for by the user (Shift+F12, Shift+Alt+F12, the menu), and
// what they show is a peek or a view, not a move: record at once with what they found.
const references = {
  provideReferences(doc, position) {
    if (probing || !isFile(doc.uri)) return undefined;
    const t0 = now();
    setTimeout(async () => {
      const found = (await probe('vscode.executeReferenceProvider', doc.uri, position)).map(toLocation);
      const id = `vscode-${++nextId}`;
      const params = {
        textDocument: { uri: doc.uri.toString() },
        position: pos(position),
        context: { includeDeclaration: true },
      };
      lsp('c2s', { id, method: 'textDocument/references', params }, t0);
      lsp('s2c', { id, result: found }, now());
    }, 0);
    return undefined;
  },
};

// --- the integrated terminal (shell integration) ------------------------------------------

const executions = new Map(); // TerminalShellExecution -> { id, end }

// VS Code's execution.read() (1.139) attaches its listener to the output stream in a
// queued microtask, and drops whatever output arrives before. The output message often
// comes in the same IPC batch as the start event, handled before any microtask runs
// (always for a builtin, whose output and end mark share the shell's chunk; for a quick
// program whenever the extension host was busy): then the command had no output at all.
// Run that one queued microtask at once, during read(), so the listener is there before
// the start event returns. Nothing else is queued inside read(); the global is restored
// before returning. If a VS Code no longer queues there, this changes nothing.
function readAttached(execution) {
  const queue = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (task) => task();
  try {
    return execution.read();
  } finally {
    globalThis.queueMicrotask = queue;
  }
}

async function drain(id, stream, ended) {
  try {
    for await (const data of stream) send({ kind: 'terminal_output', id, data });
  } catch (err) {
    log(`prtrace: could not read a command's output: ${err.message}`);
  }
  const { exitCode, t, cmd } = await ended;
  send({ kind: 'terminal_end', t, id, exit_code: exitCode, cmd });
}

function executionStarted(e) {
  const stream = readAttached(e.execution); // first: synchronously, before anything else
  const id = ++nextId;
  let end;
  const ended = new Promise((resolve) => (end = resolve));
  executions.set(e.execution, { id, end });
  const cwd = e.execution.cwd;
  send({
    kind: 'terminal_start',
    t: now(),
    id,
    cmd: e.execution.commandLine.value,
    cwd: cwd && isFile(cwd) ? cwd.fsPath : undefined,
  });
  drain(id, stream, ended);
}

function executionEnded(e) {
  const ex = executions.get(e.execution);
  if (!ex) return;
  executions.delete(e.execution);
  // The command line may be known better at the end (low confidence at the start).
  ex.end({ exitCode: e.exitCode, t: now(), cmd: e.execution.commandLine.value });
}

// --- commands and the status bar ----------------------------------------------------------

function log(line) {
  if (output) output.appendLine(line);
}

function showStatus() {
  if (!statusItem) return;
  let text, tip;
  if (!workspaceRoot()) {
    text = '$(circle-slash) prtrace';
    tip = 'prtrace: open a folder to record';
  } else if (!config().get('enabled', true)) {
    text = '$(circle-slash) prtrace: off';
    tip = 'prtrace.recorder.enabled is false';
  } else if (!bridge || bridge.dead) {
    text = '$(error) prtrace: stopped';
    tip = 'the recorder is not running; click for actions';
  } else if (!status) {
    text = '$(sync~spin) prtrace';
    tip = 'starting the recorder';
  } else if (!status.opted_in) {
    text = '$(circle-slash) prtrace: not opted in';
    tip = 'this workspace has not opted in (add .prtrace.toml or run prtrace record start); nothing is kept';
  } else if (status.paused) {
    text = '$(debug-pause) prtrace: paused';
    tip = 'paused: nothing is kept until you resume';
  } else {
    text = '$(record) prtrace: recording';
    tip = status.session ? `recording; uploading to trace ${status.session}` : 'recording locally (no session yet)';
  }
  statusItem.text = text;
  statusItem.tooltip = tip;
  statusItem.show();
}

function runCli(args, title) {
  const root = workspaceRoot();
  if (!root) {
    vscode.window.showWarningMessage('prtrace: open a folder first');
    return Promise.resolve();
  }
  const command = config().get('command', 'prtrace');
  return new Promise((resolve) => {
    cp.execFile(command, args, { cwd: root, timeout: 120000 }, (err, stdout, stderr) => {
      log(`$ prtrace ${args.join(' ')}\n${stdout}${stderr}`);
      if (err) vscode.window.showErrorMessage(`prtrace ${title}: ${(stderr || err.message).trim()}`);
      else vscode.window.showInformationMessage(`prtrace ${title}: ${(stdout || 'done').trim().split('\n')[0]}`);
      send({ kind: 'status' });
      resolve();
    });
  });
}

async function addNote(text) {
  if (typeof text !== 'string') {
    text = await vscode.window.showInputBox({
      title: 'prtrace: Add a note',
      prompt: 'A hypothesis, a dead end, why you chose this fix…',
      ignoreFocusOut: true,
    });
  }
  if (!text || !text.trim()) return;
  if (!bridge || bridge.dead) {
    vscode.window.showWarningMessage('prtrace: the recorder is not running; the note was not kept');
    return;
  }
  send({ kind: 'note', t: now(), text, tags: [] });
  send({ kind: 'status' });
}

async function actions() {
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'Start recording', command: 'prtrace.start' },
      { label: 'Stop recording', command: 'prtrace.stop' },
      { label: 'Pause', command: 'prtrace.pause' },
      { label: 'Resume', command: 'prtrace.resume' },
      { label: 'Add a note', command: 'prtrace.note' },
    ],
    { title: statusItem.tooltip }
  );
  if (pick) vscode.commands.executeCommand(pick.command);
}

function activate(context) {
  output = vscode.window.createOutputChannel('prtrace');
  statusItem = vscode.window.createStatusBarItem('prtrace.status', vscode.StatusBarAlignment.Left, 0);
  statusItem.name = 'prtrace';
  statusItem.command = 'prtrace.status';
  const files = { scheme: 'file' };
  const sub = context.subscriptions;
  sub.push(
    output,
    statusItem,
    vscode.workspace.onDidOpenTextDocument(opened),
    vscode.workspace.onDidChangeTextDocument(changed),
    vscode.workspace.onDidSaveTextDocument(saved),
    vscode.workspace.onDidCloseTextDocument(closed),
    vscode.languages.onDidChangeDiagnostics(diagnosticsChanged),
    vscode.languages.registerDefinitionProvider(files, watchNavigation('definition')),
    vscode.languages.registerDeclarationProvider(files, watchNavigation('declaration')),
    vscode.languages.registerTypeDefinitionProvider(files, watchNavigation('typeDefinition')),
    vscode.languages.registerImplementationProvider(files, watchNavigation('implementation')),
    vscode.languages.registerReferenceProvider(files, references),
    vscode.window.onDidChangeTextEditorSelection(selectionChanged),
    vscode.window.onDidChangeActiveTextEditor(activeEditorChanged),
    vscode.window.onDidStartTerminalShellExecution(executionStarted),
    vscode.window.onDidEndTerminalShellExecution(executionEnded),
    vscode.commands.registerCommand('prtrace.start', async () => {
      if (!bridge || bridge.dead) startBridge();
      await runCli(['record', 'start', '--editor', 'vscode'], 'record start');
    }),
    vscode.commands.registerCommand('prtrace.stop', () => runCli(['record', 'stop'], 'record stop')),
    vscode.commands.registerCommand('prtrace.pause', () => runCli(['record', 'pause'], 'record pause')),
    vscode.commands.registerCommand('prtrace.resume', () => runCli(['record', 'resume'], 'record resume')),
    vscode.commands.registerCommand('prtrace.note', addNote),
    vscode.commands.registerCommand('prtrace.status', actions),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('prtrace.recorder')) showStatus();
    })
  );
  startBridge();
}

function deactivate() {
  const b = bridge;
  bridge = null;
  if (b && !b.dead) {
    b.dead = true; // closing stdin ends the bridge's session: it spools and uploads what is left
    b.child.stdin.end();
  }
}

module.exports = { activate, deactivate };
