/**
 * The one cursor codec for keyset pagination: a page's position (the sort value and id of its
 * last row, or whatever the route needs) travels as base64url JSON, opaque to clients. A cursor
 * that does not decode, or that the route's own check refuses, is a 422 naming `cursor`.
 */
import { base64UrlToText, textToBase64Url } from "../../shared/base64";
import { invalid } from "./problem";

/** Turns a page position into the `nextCursor` string. */
export function encodeCursor(position: unknown): string {
  return textToBase64Url(JSON.stringify(position));
}

/**
 * The position in a cursor this API issued, or a 422 `cursor` problem. `check` narrows the
 * decoded JSON to the route's shape, returning null for anything else.
 *
 * @example
 *   const [createdAt, id] = decodeCursor(query.cursor, (v) => (Array.isArray(v) && v.length === 2 ? (v as [string, string]) : null));
 */
export function decodeCursor<T>(text: string, check: (value: unknown) => T | null): T {
  let position: T | null = null;
  try {
    position = check(JSON.parse(base64UrlToText(text)));
  } catch {
    // not base64url JSON: refused below like any other foreign cursor
  }
  if (position === null) throw invalid("The cursor is not one this API issued.", [{ field: "cursor", detail: "not a valid cursor; pass nextCursor back unchanged" }]);
  return position;
}
