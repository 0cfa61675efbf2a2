// Runs before the test command under whatever `node` npm found first on PATH. npm puts
// node_modules/.bin first, so after `npm ci` that is the project's own Node LTS (the `node`
// devDependency); before it, it is the machine's Node, which cannot run the TypeScript sources.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `etcd-snapshot-driver needs Node >= 22.19, but this is Node ${process.versions.node} (${process.execPath}).\n` +
      'Run `npm ci` first: it installs the project its own Node LTS, which npm scripts then use.',
  );
  process.exit(1);
}
