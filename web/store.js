// IndexedDB: keep one saved model file (bytes) in this browser.

const DB = 'pynet';
const STORE = 'models';
const KEY = 'saved';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error('the browser refused to store the model'));
    });
  } finally {
    db.close();
  }
}

export const saveModel = (bytes, info) => transact('readwrite', (s) => s.put({ bytes, info, saved: Date.now() }, KEY));
export const loadSaved = () => transact('readonly', (s) => s.get(KEY));
