// A URL fit for a log line or an error message: the password, if any, is masked
// (database and Redis URLs often carry one).
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
