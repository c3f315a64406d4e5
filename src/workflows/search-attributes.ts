// The search attributes a run keeps current, so operators can list runs by state,
// spend, model or priority in the Temporal UI. The dev-server bootstrap registers these.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const LlmBatchState = defineSearchAttributeKey('LlmBatchState', SearchAttributeType.KEYWORD);
export const LlmBatchProgress = defineSearchAttributeKey('LlmBatchProgress', SearchAttributeType.DOUBLE);
export const LlmBatchSpentUsd = defineSearchAttributeKey('LlmBatchSpentUsd', SearchAttributeType.DOUBLE);
export const LlmBatchBudgetUsd = defineSearchAttributeKey('LlmBatchBudgetUsd', SearchAttributeType.DOUBLE);
export const LlmBatchModel = defineSearchAttributeKey('LlmBatchModel', SearchAttributeType.KEYWORD);
/** The run's priority, 1 most urgent … 5 (set at start). */
export const LlmBatchPriority = defineSearchAttributeKey('LlmBatchPriority', SearchAttributeType.INT);

/** `--search-attribute` values for `temporal server start-dev`. */
export const SEARCH_ATTRIBUTE_FLAGS = ['LlmBatchState=Keyword', 'LlmBatchProgress=Double', 'LlmBatchSpentUsd=Double', 'LlmBatchBudgetUsd=Double', 'LlmBatchModel=Keyword', 'LlmBatchPriority=Int'];
