// madge ships no types; the house test uses only this.
declare module "madge" {
  interface MadgeResult {
    circular(): string[][];
  }
  export default function madge(path: string | string[], config?: { fileExtensions?: string[]; baseDir?: string }): Promise<MadgeResult>;
}
