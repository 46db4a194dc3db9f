// prtrace-lsp: start each configured language server behind `prtrace lsp --`.
// The proxy forwards every byte unchanged, so the editor sees the same server;
// the recording happens beside the path, into the workspace's .prtrace/ spool.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

const clients = [];

function activate(context) {
  const config = vscode.workspace.getConfiguration("prtrace");
  const prtrace = config.get("command", "prtrace");
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  for (const server of config.get("servers", [])) {
    const [command, ...args] = server.command;
    const client = new LanguageClient(
      `prtrace-${command}`,
      `${command} (prtrace)`,
      { command: prtrace, args: ["lsp", "--", command, ...args], options: { cwd: folder } },
      { documentSelector: server.languages.map((language) => ({ scheme: "file", language })) }
    );
    clients.push(client);
    client.start();
  }
  context.subscriptions.push({ dispose: deactivate });
}

function deactivate() {
  return Promise.all(clients.splice(0).map((client) => client.stop()));
}

module.exports = { activate, deactivate };
