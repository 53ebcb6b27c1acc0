// Public API of the package: everything another Pulumi project may import.
export {};
