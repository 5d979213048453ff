// IndexedDB: what this browser keeps for the page, one object store each: the saved model file
// ('models', one entry), the user's own samples ('samples') and the run history ('runs').

const DB = 'pynet';
const VERSION = 2; // 1 had 'models' only; upgrading keeps a saved model
const STORES = ['models', 'samples', 'runs'];
const KEY = 'saved';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, VERSION);
    request.onupgradeneeded = () => {
      for (const name of STORES) {
        if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name, { autoIncrement: name !== 'models' });
      }
    };
    request.onsuccess = () => {
      // a newer version or a deletion elsewhere waits for no connection of this page
      request.result.onversionchange = () => request.result.close();
      resolve(request.result);
    };
    request.onerror = () => reject(request.error);
  });
}

// Run fn(objectStore) in one transaction of `store`; resolves with its request's result once
// the transaction has completed (so a write is on disk when it resolves), rejects if the
// browser refuses or aborts it.
export async function transact(store, mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const request = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error(`the browser refused to store the ${store}`));
    });
  } finally {
    db.close();
  }
}

// Every entry of a store as [key, value] pairs, oldest key first.
export function entries(store) {
  return transact(store, 'readonly', (s) => {
    const out = [];
    const request = s.openCursor();
    request.onsuccess = () => {
      const cursor = request.result;
      if (cursor) { out.push([cursor.key, cursor.value]); cursor.continue(); }
    };
    return { get result() { return out; } };
  });
}

export const saveModel = (bytes, info) => transact('models', 'readwrite', (s) => s.put({ bytes, info, saved: Date.now() }, KEY));
export const loadSaved = () => transact('models', 'readonly', (s) => s.get(KEY));
