// Tests wait for conditions, never for fixed times: poll until true or fail with what was awaited.
export interface WaitOptions {
    readonly timeoutMs: number;
    readonly what: string;
    readonly intervalMs?: number;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
        if (await condition()) return;
        if (Date.now() >= deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
        await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
    }
}

/** Resolves with the promise's value, or rejects naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}
