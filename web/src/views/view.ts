/** A page section behind one navigation entry. Views are built once and kept, so their state survives. */
export interface View {
  readonly element: HTMLElement;
  /** Receives focus when the visitor navigates to the view. */
  readonly heading: HTMLElement;
  /** Used in the document title. */
  readonly title: string;
  /** Called each time the view is shown, with the route's remaining path segments (e.g. a user id). */
  show(params: readonly string[]): void;
}
