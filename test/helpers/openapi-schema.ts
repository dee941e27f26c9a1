// Test helper: validate a value against a CustomResourceDefinition's openAPIV3Schema (the structural subset Kubernetes
// uses): type, required, properties, additionalProperties, items, enum, pattern, minLength/maxLength, minimum/maximum,
// minItems/maxItems, nullable, anyOf/oneOf/allOf, x-kubernetes-int-or-string and x-kubernetes-preserve-unknown-fields.
// Like the API server, a property the schema does not name is an error (Kubernetes prunes it; here it is a typo), unless
// the object preserves unknown fields. `format` and x-kubernetes-validations (CEL) are not evaluated.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface Schema {
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  minLength?: number; maxLength?: number; minimum?: number; maximum?: number; minItems?: number; maxItems?: number;
  nullable?: boolean;
  anyOf?: Schema[]; oneOf?: Schema[]; allOf?: Schema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** spec.versions[name or first].schema.openAPIV3Schema of a CRD file. */
export function crdSchema(file: string, version?: string): Schema {
  const crd = parse(readFileSync(file, 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
  const v = version ? crd.spec.versions.find((x) => x.name === version) : crd.spec.versions[0];
  if (!v) throw new Error(`${file} has no version ${version}`);
  return v.schema.openAPIV3Schema;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Errors as "path: message"; empty when valid. */
export function validate(schema: Schema, value: unknown, path = ''): string[] {
  const errs: string[] = [];
  const at = path || '/';
  if (value === null) return schema.nullable ? [] : [`${at}: null is not allowed`];
  if (schema.allOf) for (const s of schema.allOf) errs.push(...validate(s, value, path));
  for (const alts of [schema.anyOf, schema.oneOf]) {
    if (alts && !alts.some((s) => validate(s, value, path).length === 0)) errs.push(`${at}: matches none of the alternatives`);
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && !Number.isInteger(value)) errs.push(`${at}: must be an integer or a string`);
    return errs;
  }
  const t = typeOf(value);
  if (schema.type) {
    const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!ok) return [...errs, `${at}: must be ${schema.type}, is ${t}`];
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) errs.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern.replace(/^\(\?i\)/, ''), schema.pattern.startsWith('(?i)') ? 'i' : '').test(value)) errs.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errs.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errs.push(`${at}: longer than ${schema.maxLength}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errs.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errs.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((v, i) => errs.push(...validate(schema.items!, v, `${path}/${i}`)));
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errs.push(`${at}: missing required ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      const p = schema.properties?.[k];
      if (p) errs.push(...validate(p, v, `${path}/${k}`));
      else if (typeof schema.additionalProperties === 'object') errs.push(...validate(schema.additionalProperties, v, `${path}/${k}`));
      else if (schema.properties && schema.additionalProperties !== true && !schema['x-kubernetes-preserve-unknown-fields']) errs.push(`${at}: unknown field ${k}`);
    }
  }
  return errs;
}
