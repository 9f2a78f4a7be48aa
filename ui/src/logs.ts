// What a long log shows: only the lines in view (plus a margin) are in the page, so a run that
// printed a million lines scrolls as fast as one that printed ten.

export const LINE_HEIGHT = 18;
const MARGIN = 20;

export interface Window {
  first: number; // index of the first line rendered
  last: number; // one past the last line rendered
  top: number; // pixels above the first rendered line
  height: number; // pixels of the whole log
}

/** The lines to render of `count`, scrolled to `scrollTop` in a view `viewHeight` tall. */
export function visible(count: number, scrollTop: number, viewHeight: number): Window {
  const first = Math.max(0, Math.floor(scrollTop / LINE_HEIGHT) - MARGIN);
  const last = Math.min(count, Math.ceil((scrollTop + viewHeight) / LINE_HEIGHT) + MARGIN);
  return { first, last: Math.max(first, last), top: first * LINE_HEIGHT, height: count * LINE_HEIGHT };
}

/** Whether a view scrolled to `scrollTop` shows the log's end (so new lines keep it there). */
export function atEnd(scrollTop: number, viewHeight: number, contentHeight: number): boolean {
  return scrollTop + viewHeight >= contentHeight - LINE_HEIGHT;
}
