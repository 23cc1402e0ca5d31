import { z } from 'zod';
import {
  api,
  CommentBody,
  CreateServiceRequestBody,
  CreateWorkItemBody,
  RemediationWorkPackageBody,
  UpdateWorkItemBody,
} from '../api/contract.js';
import { defineTool, recordId, writeOutput, type Annotations, type ToolDef } from './define.js';

const CREATE: Annotations = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const UPDATE: Annotations = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false };
const NEEDS_APPROVAL = ' Runs only after a human approves the exact request.';

export const createWorkItem = defineTool({
  name: 'loopiq_create_work_item',
  title: 'Create work item',
  description: `Create a story, task, bug or issue.${NEEDS_APPROVAL}`,
  scope: 'org',
  write: true,
  input: () => CreateWorkItemBody().shape,
  output: writeOutput,
  annotations: CREATE,
  handler: (args, ctx) => ctx.write({ endpoint: api.createWorkItem(args), summary: `Create ${args.type} "${args.title}"` }),
});

export const updateWorkItem = defineTool({
  name: 'loopiq_update_work_item',
  title: 'Update work item',
  description: `Change fields of a work item (only those given).${NEEDS_APPROVAL}`,
  scope: 'org',
  write: true,
  input: () => ({ id: recordId('Work item'), changes: UpdateWorkItemBody().refine((c) => Object.keys(c).length > 0, 'give at least one field to change') }),
  output: writeOutput,
  annotations: UPDATE,
  handler: ({ id, changes }, ctx) =>
    ctx.write({ endpoint: api.updateWorkItem(id, changes), summary: `Update work item ${id}: ${Object.keys(changes).join(', ')}` }),
});

export const addComment = defineTool({
  name: 'loopiq_add_comment',
  title: 'Add comment',
  description: `Comment on a work item.${NEEDS_APPROVAL}`,
  scope: 'org',
  write: true,
  input: () => ({ id: recordId('Work item'), ...CommentBody().shape }),
  output: writeOutput,
  annotations: CREATE,
  handler: ({ id, body }, ctx) => ctx.write({ endpoint: api.addComment(id, { body }), summary: `Comment on work item ${id}` }),
});

export const createServiceRequest = defineTool({
  name: 'loopiq_create_service_request',
  title: 'Create service request',
  description: `Open a service request.${NEEDS_APPROVAL}`,
  scope: 'org',
  write: true,
  input: () => CreateServiceRequestBody().shape,
  output: writeOutput,
  annotations: CREATE,
  handler: (args, ctx) => ctx.write({ endpoint: api.createServiceRequest(args), summary: `Create service request "${args.title}" (${args.category})` }),
});

export const createRemediationWorkPackage = defineTool({
  name: 'loopiq_create_remediation_work_package',
  title: 'Create remediation work package',
  description: `One parent remediation story with child tasks, linked to controls, findings, evidence or blockers.${NEEDS_APPROVAL}`,
  scope: 'org',
  write: true,
  input: () => RemediationWorkPackageBody().shape,
  output: writeOutput,
  annotations: CREATE,
  handler: (args, ctx) =>
    ctx.write({
      endpoint: api.createRemediationWorkPackage(args),
      summary: `Create remediation story "${args.parent.title}" with ${args.tasks.length} task(s) and ${args.references.length} reference(s)`,
    }),
});

export const executeApprovedAction = defineTool({
  name: 'loopiq_execute_approved_action',
  title: 'Execute approved action',
  description: 'Run a write the user approved in a terminal (`loopiq-mcp approve <code>`). Sends exactly the approved request, once.',
  scope: 'org',
  write: true,
  input: () => ({ approvalId: z.string().min(1).max(32).describe('The code from approval_required') }),
  output: writeOutput,
  annotations: UPDATE,
  handler: ({ approvalId }, ctx) => ctx.executeApproved(approvalId),
});

export const WRITE_TOOLS: ToolDef[] = [createWorkItem, updateWorkItem, addComment, createServiceRequest, createRemediationWorkPackage, executeApprovedAction];
