// A product group's option pickers: which variant a choice of values names,
// and which values can still be bought given the others chosen.

export interface OptionLike {
  name: string;
  values: string[];
}

export interface VariantLike {
  id: string;
  available: number;
  selectedOptions: { name: string; value: string }[];
}

/** The chosen value of each option, by option name (absent: none chosen). */
export type Selection = Record<string, string>;

function valueOf(v: VariantLike, option: string): string | undefined {
  return v.selectedOptions.find((o) => o.name === option)?.value;
}

/** The variant with exactly the selected value of every option (null: none, or not all chosen). */
export function variantFor<V extends VariantLike>(options: OptionLike[], variants: V[], sel: Selection): V | null {
  if (options.some((o) => sel[o.name] === undefined)) return null;
  return variants.find((v) => options.every((o) => valueOf(v, o.name) === sel[o.name])) ?? null;
}

/**
 * Whether `value` of `option` can be bought with the other options' chosen
 * values: some variant has it and them, and units available (by `levels`,
 * the live ones, else its own).
 */
export function canBuy(
  options: OptionLike[],
  variants: VariantLike[],
  sel: Selection,
  option: string,
  value: string,
  levels: Record<string, number> = {},
): boolean {
  return variants.some(
    (v) =>
      valueOf(v, option) === value &&
      options.every((o) => o.name === option || sel[o.name] === undefined || valueOf(v, o.name) === sel[o.name]) &&
      (levels[v.id] ?? v.available) > 0,
  );
}

/** The first variant with units available (in the group's display order), else the first; its values. */
export function initialSelection(variants: VariantLike[], levels: Record<string, number> = {}): Selection {
  const v = variants.find((x) => (levels[x.id] ?? x.available) > 0) ?? variants[0];
  const sel: Selection = {};
  for (const o of v?.selectedOptions ?? []) sel[o.name] = o.value;
  return sel;
}

/** "from $X" when the variants' prices differ (min ≠ max). */
export function pricesDiffer(range: { min: { amount: string; currencyCode: string }; max: { amount: string; currencyCode: string } }): boolean {
  return Number(range.min.amount) !== Number(range.max.amount) || range.min.currencyCode !== range.max.currencyCode;
}
