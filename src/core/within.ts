/**
 * Waits for `promise` at most `ms` milliseconds: true when it resolved in time, false when the
 * time ran out (it goes on regardless); a rejection in time is passed on. The timer is cleared
 * either way, so a wait that ended early does not hold the process open.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
