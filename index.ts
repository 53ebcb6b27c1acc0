// Entry point of the source-based Pulumi package (PulumiPlugin.yaml), for Pulumi's component
// analyzer only: it infers the schema from the TypeScript sources and looks for `index.ts` at the
// package root when package.json's `main`/`exports` point at compiled JavaScript (ours do, for npm
// consumers). Not built, not published; npm consumers import dist/components/index.js.
export * from "./components";
