// Entry point for `pulumi up` (Pulumi.yaml: `main: stacks/`). Pulumi runs the exported function
// and publishes what it returns as the stack's outputs.
import { program } from "./program";

export = program;
