(function(){
var d=document,h=d.documentElement,n=0;
function err(){n++;h.dataset.jsErrors=n}
addEventListener('error',err);addEventListener('unhandledrejection',err);
d.addEventListener('securitypolicyviolation',function(){h.dataset.cspViolations=(+h.dataset.cspViolations||0)+1});
var m=/theme=(dark|light)/.exec(location.hash),t=m&&m[1];
try{t=t||localStorage.getItem('tl-theme')}catch(e){}
if(t)h.dataset.theme=t;
d.getElementById('theme').addEventListener('click',function(){
var dark=h.dataset.theme?h.dataset.theme==='dark':matchMedia('(prefers-color-scheme: dark)').matches;
h.dataset.theme=dark?'light':'dark';try{localStorage.setItem('tl-theme',h.dataset.theme)}catch(e){}});
var s=JSON.parse(d.getElementById('summary.json').textContent),r=s.run,b=d.getElementById('stale');
if(r){var age=(Date.now()-Date.parse(r.finished_at||r.started_at))/36e5;
if(r.status==='fail'||!(age<=s.stale_after_hours)){b.hidden=false;
b.querySelector('.age').textContent=isNaN(age)?'':'(finished '+(age<48?Math.round(age)+' h':Math.round(age/24)+' days')+' ago)'}}
function key(c){var v=c.dataset.sort!==undefined?c.dataset.sort:c.textContent.trim();return /^-?\d+(\.\d+)?$/.test(v)?+v:v}
d.querySelectorAll('table.sortable th button').forEach(function(btn){btn.addEventListener('click',function(){
var th=btn.parentNode,tr=th.parentNode,tb=th.closest('table').tBodies[0],i=[].indexOf.call(tr.children,th),up=th.getAttribute('aria-sort')!=='ascending';
[].forEach.call(tr.children,function(x){x.removeAttribute('aria-sort')});th.setAttribute('aria-sort',up?'ascending':'descending');
[].slice.call(tb.rows).sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]),c=typeof x==='number'&&typeof y==='number'?x-y:String(x).localeCompare(String(y));return up?c:-c}).forEach(function(row){tb.appendChild(row)})})});
d.querySelectorAll('button.csv').forEach(function(btn){btn.addEventListener('click',function(){
var rows=[].map.call(d.getElementById(btn.dataset.table).rows,function(row){return [].map.call(row.cells,function(c){var v=c.textContent.trim();if(/^[=+\-@\t\r]/.test(v)&&isNaN(+v))v="'"+v;return /[",\r\n]/.test(v)?'"'+v.replace(/"/g,'""')+'"':v}).join(',')});
var a=d.createElement('a');a.href=URL.createObjectURL(new Blob([rows.join('\n')+'\n'],{type:'text/csv'}));a.download=btn.dataset.table+'.csv';d.body.appendChild(a);a.click();a.remove()})});
h.dataset.jsOk='1'})();
