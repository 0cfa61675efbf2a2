import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/informers/errors.ts';
import { apiErrorKind, isAlreadyExists, isConflict, isNotFound } from '../../../src/kube/api-errors.ts';
import { startApiHealth } from '../../../src/kube/api-health.ts';
import { type JsonRequester, namespacedCustomObjects } from '../../../src/kube/custom-objects.ts';
import { FakeApiError } from './fakes.ts';

describe('apiErrorKind', () => {
  it.each([
    [new FakeApiError(404, 'NotFound', ''), 'not-found'],
    [new FakeApiError(409, 'AlreadyExists', ''), 'already-exists'],
    [new FakeApiError(409, 'Conflict', ''), 'conflict'],
    [new FakeApiError(410, 'Expired', ''), 'gone'],
    [new FakeApiError(401, 'Unauthorized', ''), 'unauthorized'],
    [new FakeApiError(403, 'Forbidden', ''), 'forbidden'],
    [new FakeApiError(422, 'Invalid', ''), 'invalid'],
    [new FakeApiError(429, 'TooManyRequests', ''), 'too-many-requests'],
    [new FakeApiError(503, 'ServiceUnavailable', ''), 'server-error'],
    [new ApiError('POST', '/x', 409, 'AlreadyExists', 'x exists'), 'already-exists'],
    [new ApiError('GET', '/x', 404, 'NotFound', 'x not found'), 'not-found'],
    [Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'network'],
    [Object.assign(new Error('GET /x: socket hang up'), { name: 'TransportError' }), 'network'],
    [new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }), 'network'],
    [new RangeError('bug'), 'other'],
    ['a string', 'other'],
  ])('%s → %s', (err, kind) => {
    expect(apiErrorKind(err)).toBe(kind);
  });

  it('has shorthands', () => {
    expect(isNotFound(new FakeApiError(404, 'NotFound', ''))).toBe(true);
    expect(isAlreadyExists(new FakeApiError(409, 'AlreadyExists', ''))).toBe(true);
    expect(isConflict(new FakeApiError(409, 'Conflict', ''))).toBe(true);
  });
});

describe('namespacedCustomObjects', () => {
  it('speaks the custom resource REST paths with preconditions and JSON patches', async () => {
    const calls: unknown[] = [];
    const signals: AbortSignal[] = [];
    const requester: JsonRequester = {
      async request<T>(
        method: string,
        path: string,
        options?: { body?: unknown; contentType?: string; signal?: AbortSignal },
      ) {
        if (options?.signal) signals.push(options.signal);
        else calls.push([method, path, options?.contentType, options?.body]);
        if (path.endsWith('/missing')) throw new FakeApiError(404, 'NotFound', '');
        return { ok: method } as T;
      },
    };
    const api = namespacedCustomObjects(requester, {
      group: 'g.io',
      version: 'v1',
      plural: 'things',
      kind: 'Thing',
    });
    await api.create('ns', { metadata: { name: 'a' } });
    expect(await api.get('ns', 'missing')).toBeUndefined();
    await api.jsonPatch('ns', 'a', [{ op: 'add', path: '/spec/x', value: 1 }]);
    await api.delete('ns', 'a', { uid: 'u1' });
    const signal = new AbortController().signal;
    await api.create('ns', { metadata: { name: 'b' } }, signal);
    expect(await api.delete('ns', 'missing')).toBeUndefined();
    expect(calls).toEqual([
      ['POST', '/apis/g.io/v1/namespaces/ns/things', undefined, { metadata: { name: 'a' } }],
      ['GET', '/apis/g.io/v1/namespaces/ns/things/missing', undefined, undefined],
      [
        'PATCH',
        '/apis/g.io/v1/namespaces/ns/things/a',
        'application/json-patch+json',
        [{ op: 'add', path: '/spec/x', value: 1 }],
      ],
      [
        'DELETE',
        '/apis/g.io/v1/namespaces/ns/things/a',
        undefined,
        { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: 'u1' } },
      ],
      [
        'DELETE',
        '/apis/g.io/v1/namespaces/ns/things/missing',
        undefined,
        { apiVersion: 'v1', kind: 'DeleteOptions' },
      ],
    ]);
  });
});

describe('startApiHealth', () => {
  it('judges reachability in the background and forgets stale successes', async () => {
    let now = 0;
    let up = true;
    const health = startApiHealth(
      async () => {
        if (!up) throw new Error('down');
      },
      { intervalMs: 60_000, staleAfterMs: 1000, now: () => now },
    );
    try {
      expect(await health.check()).toBe(true);
      expect(health.reachable()).toBe(true);
      now = 2000;
      expect(health.reachable()).toBe(false);
      up = false;
      expect(await health.check()).toBe(false);
      expect(health.reachable()).toBe(false);
      up = true;
      await health.check();
      expect(health.reachable()).toBe(true);
    } finally {
      health.stop();
    }
  });
});
