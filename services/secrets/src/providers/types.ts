/** What a provider hands back for one secret: the text of the secret and, when the provider knows it, its version. */
export interface ProviderValue {
  value: string;
  version?: string;
  /** 'base64' when the provider held binary data (AWS SecretBinary) that is not UTF-8 text. */
  encoding?: 'utf8' | 'base64';
}

/**
 * One place secrets come from. `get` resolves the current value or rejects with:
 * - PermanentError VIGIL_E_SECRET_NOT_FOUND when the provider says the secret does not exist;
 * - TransientError VIGIL_E_SECRETS_PROVIDER for everything else (outage, throttling, network), with
 *   `details.type` set to the provider's error name (e.g. `InternalServiceError`). Never the value.
 */
export interface SecretProvider {
  readonly name: 'aws' | 'file' | 'env';
  get(name: string): Promise<ProviderValue>;
  close?(): void;
}
