/**
 * Errors the training tools raise for a caller's mistake (a bad flag, a label column that does
 * not exist), kept apart from crashes so the CLIs can exit with code 2 and name the flag.
 */

/** A problem with what the user asked for; `flag` names the option at fault, e.g. `--label`. */
export class UsageError extends Error {
  readonly flag: string | null;

  constructor(flag: string | null, message: string) {
    super(flag ? `${flag}: ${message}` : message);
    this.name = "UsageError";
    this.flag = flag;
  }
}
