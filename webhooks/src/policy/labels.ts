// Syntax of label keys and values, as the apiserver checks them on pods:
// a value no pod can carry makes a selector requirement unsatisfiable.
// Pure.

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key (`[prefix/]name`), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return 'has a prefix that is not a DNS subdomain';
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return 'is not a valid label key (at most 63 characters: alphanumerics, "-", "_", "." inside)';
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined. The empty value is valid. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) {
    return 'is not a valid label value (at most 63 characters: alphanumerics, "-", "_", "." inside)';
  }
  return undefined;
}
