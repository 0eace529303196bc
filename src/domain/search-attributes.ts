import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The search attributes every CrystalMath workflow carries, so the Web UI and
 * `temporal workflow list --query "CrystalMathFormula='Si2'"` find runs. One list, used by the dev-server
 * launcher (registration) and by the workflows (upsert).
 */
export const SEARCH_ATTRIBUTES = {
  formula: 'CrystalMathFormula',
  analysis: 'CrystalMathAnalysis',
  code: 'CrystalMathCode',
  cluster: 'CrystalMathCluster',
} as const;

/** All are Temporal `Keyword` attributes (exact match, filterable). */
export const SEARCH_ATTRIBUTE_NAMES: readonly string[] = Object.values(SEARCH_ATTRIBUTES);


export const SEARCH_ATTRIBUTE_KEYS = {
  formula: defineSearchAttributeKey(SEARCH_ATTRIBUTES.formula, SearchAttributeType.KEYWORD),
  analysis: defineSearchAttributeKey(SEARCH_ATTRIBUTES.analysis, SearchAttributeType.KEYWORD),
  code: defineSearchAttributeKey(SEARCH_ATTRIBUTES.code, SearchAttributeType.KEYWORD),
  cluster: defineSearchAttributeKey(SEARCH_ATTRIBUTES.cluster, SearchAttributeType.KEYWORD),
} as const;
